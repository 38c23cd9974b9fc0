using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>
/// A key request whose tier is given but blank, or names no configured tier, is refused (400 problem details, nothing
/// created): only a request that leaves the tier out gets the default tier.
/// </summary>
public sealed class StrictKeyRequestTests : IAsyncLifetime
{
    private GatewayHost _host = null!;

    public async Task InitializeAsync() => _host = await GatewayHost.StartAsync(new Dictionary<string, string?>());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<HttpResponseMessage> CreateAsync(string admin, object body) =>
        await _host.Http.SendAsync(_host.Request(HttpMethod.Post, "/v1/keys", admin, content: JsonContent.Create(body)));

    [Theory]
    [InlineData("", "blank")]
    [InlineData("   ", "blank")]
    [InlineData("platinum", "platinum")] // not a configured tier: refused, not served as the default
    public async Task Post_BlankOrUnknownTier_Returns400NamingItAndCreatesNothing(string tier, string expected)
    {
        var admin = await _host.CreateKeyAsync("standard", Scopes.Admin);
        var before = (await _host.Keys.ListAsync()).Count;

        using var response = await CreateAsync(admin, new { name = "k", tier, scopes = new[] { Scopes.MarketRead } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(expected, problem.GetProperty("errors").GetProperty("tier")[0].GetString());
        Assert.Equal(before, (await _host.Keys.ListAsync()).Count);
    }

    [Fact]
    public async Task Post_TierLeftOut_CreatesKeyWithDefaultTier()
    {
        var admin = await _host.CreateKeyAsync("standard", Scopes.Admin);

        using var response = await CreateAsync(admin, new { name = "k", scopes = new[] { Scopes.MarketRead } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}
