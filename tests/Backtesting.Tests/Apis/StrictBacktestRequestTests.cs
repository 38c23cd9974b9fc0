using System.Net.Http.Headers;
using System.Text;

namespace Platform.Backtesting.Tests.Apis;

/// <summary>A backtest request with a member the spec does not have is refused with 400 problem details, not run without it.</summary>
public class StrictBacktestRequestTests(BacktestingServiceFixture service) : IClassFixture<BacktestingServiceFixture>
{
    private const string Valid = """{"symbols":["ALPHA"],"strategy":"sma-cross"}""";

    [Theory]
    [InlineData(""","comission":{"model":"percent","rate":0.001}""")]
    [InlineData(",\"x\":\"y\"")]
    public async Task Post_UnknownMember_Returns400Problem(string extra)
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes(Valid[..^1] + extra + "}"));

        await AssertProblemAsync(response);
    }

    [Fact]
    public async Task Post_UnknownMemberWithInvalidUtf8_Returns400Problem()
    {
        var body = Encoding.UTF8.GetBytes(Valid[..^1] + ",\"x\":\"").Concat(new byte[] { 0xED, 0xA0, 0x80 }).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray();

        using var response = await PostAsync(body);

        await AssertProblemAsync(response);
    }

    [Fact]
    public async Task Post_KnownMembersOnly_Accepted()
    {
        using var response = await PostAsync(Encoding.UTF8.GetBytes(Valid));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private Task<HttpResponseMessage> PostAsync(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return service.Client.PostAsync("/v1/backtests", content);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
