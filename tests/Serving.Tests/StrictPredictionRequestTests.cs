using System.Net.Http.Headers;

namespace Platform.Serving.Tests;

/// <summary>
/// Prediction requests a strict API refuses instead of answering them: a blank model name, a request id that breaks its
/// rule (it used to be replaced silently), a feature time in the future or without supplied features, members the request
/// does not have (invalid UTF-8 in one included) and a body labelled with a charset other than UTF-8.
/// </summary>
public sealed class StrictPredictionRequestTests : IAsyncLifetime
{
    private ServingHost _host = null!;

    public async Task InitializeAsync() =>
        _host = await ServingHost.StartAsync(registry => ServingHost.RegisterAndPromoteAsync(registry, "constant", ServingHost.ConstantModel(0.25)));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return _host.Http.PostAsync(_host.Url + path, content);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) => PostAsync(path, Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData("/v1/predictions", """{"model":"","symbol":"AAA","features":[1,2,3]}""", "model")]
    [InlineData("/v1/predictions", """{"model":"  ","symbol":"AAA","features":[1,2,3]}""", "model")]
    [InlineData("/v1/predictions/batch", """{"model":"","items":[{"symbol":"AAA","features":[1,2,3]}]}""", "model")]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","features":[1,2,3],"requestId":""}""", "requestId")]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","features":[1,2,3],"requestId":"\u0000"}""", "requestId")]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","features":[1,2,3],"requestId":"../../etc/passwd"}""", "requestId")]
    [InlineData("/v1/predictions/batch", """{"model":"constant","items":[{"symbol":"AAA","features":[1,2,3]}],"requestId":"a b"}""", "requestId")]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","features":[1,2,3],"time":"9999-12-31T23:59:59+00:00"}""", "time")]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","time":"2024-01-02T00:00:00+00:00"}""", "time")]
    [InlineData("/v1/predictions/batch", """{"model":"constant","items":[{"symbol":"AAA","features":[1,2,3],"time":"9999-12-31T00:00:00Z"}]}""",
        "items[0].time")]
    public async Task Post_InvalidField_Returns400NamingIt(string path, string json, string key)
    {
        using var response = await PostAsync(path, json);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(key, out _), body);
    }

    [Theory]
    [InlineData("/v1/predictions", """{"model":"constant","symbol":"AAA","features":[1,2,3],"x":1}""")]
    [InlineData("/v1/predictions/batch", """{"model":"constant","symbols":["AAA"],"requestid":"r-1","x":null}""")]
    public async Task Post_UnknownMember_Returns400Problem(string path, string json)
    {
        using var response = await PostAsync(path, json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_UnknownMemberWithInvalidUtf8_Returns400Problem()
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"constant\",\"symbol\":\"AAA\",\"features\":[1,2,3],\"x\":\"")
            .Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray();

        using var response = await PostAsync("/v1/predictions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_CharsetOtherThanUtf8_Returns415Problem()
    {
        using var response = await PostAsync("/v1/predictions", Encoding.UTF8.GetBytes("""{"model":"constant","symbol":"AAA","features":[1,2,3]}"""),
            "application/json; charset=utf-16");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_ValidRequestIdPastTimeAndUtf8Charset_Accepted()
    {
        var time = DateTimeOffset.UtcNow.AddDays(-1).ToString("O");
        using var response = await PostAsync("/v1/predictions",
            Encoding.UTF8.GetBytes($$"""{"model":"constant","symbol":"AAA","features":[1,2,3],"requestId":"Gold:NaN.1","time":"{{time}}"}"""),
            "application/json; charset=utf-8");

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("Gold:NaN.1", JsonDocument.Parse(body).RootElement.GetProperty("requestId").GetString());
    }
}
