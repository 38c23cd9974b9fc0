using System.Net.Sockets;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>
/// The limiter in front of authentication, over real HTTP. Budgets refill once a minute here, so every count is exact;
/// the second client connects from 127.0.0.2, another address on the loopback network.
/// </summary>
public sealed class ClientLimitTests : IAsyncLifetime
{
    private GatewayHost _host = null!;
    private readonly HttpClient _otherAddress = ClientFrom(IPAddress.Parse("127.0.0.2"));

    private Task StartAsync(int perAddress, int perKeyId) => Start(new Dictionary<string, string?>
    {
        ["Gateway:ClientLimits:PerAddress:Capacity"] = perAddress.ToString(),
        ["Gateway:ClientLimits:PerAddress:TokensPerPeriod"] = "1",
        ["Gateway:ClientLimits:PerAddress:Period"] = "00:01:00",
        ["Gateway:ClientLimits:PerKeyId:Capacity"] = perKeyId.ToString(),
        ["Gateway:ClientLimits:PerKeyId:TokensPerPeriod"] = "1",
        ["Gateway:ClientLimits:PerKeyId:Period"] = "00:01:00",
    });

    private async Task Start(Dictionary<string, string?> settings) => _host = await GatewayHost.StartAsync(settings);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _otherAddress.Dispose();
        if (_host is not null) await _host.DisposeAsync();
    }

    /// <summary>A client whose connections leave from <paramref name="source"/>.</summary>
    private static HttpClient ClientFrom(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });

    private async Task<HttpResponseMessage> GetAsync(HttpClient client, string path, string? key)
    {
        var request = _host.Request(HttpMethod.Get, path, key);
        return await client.SendAsync(request);
    }

    private static string RandomKey() =>
        ApiKeyToken.Create(ApiKeyToken.NewId()).Token;

    [Fact]
    public async Task Proxy_BadCredentialFloodFromOneAddress_Gets429WhileAnotherAddressKeeps200()
    {
        await StartAsync(perAddress: 10, perKeyId: 1000);
        var good = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var wrongSecret = good[..^2] + (good[^2] == 'A' ? "BB" : "AA");
        string?[] bad = [null, "not-a-key", RandomKey(), wrongSecret];
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++)
        {
            using var flood = await GetAsync(_host.Http, "/v1/market/symbols", bad[i % bad.Length]);
            statuses.Add(flood.StatusCode);
            using var legitimate = await GetAsync(_otherAddress, "/v1/market/symbols", good);
            Assert.Equal(HttpStatusCode.OK, legitimate.StatusCode);
        }
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 10).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 20)), statuses);
    }

    [Fact]
    public async Task Proxy_AddressOverItsBudget_Returns429ProblemWithRetryAfterEvenForAGoodKey()
    {
        await StartAsync(perAddress: 3, perKeyId: 1000);
        var good = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(_host.Http, "/v1/market/symbols", null)).StatusCode);

        using var refused = await GetAsync(_host.Http, "/v1/market/symbols", good);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Proxy_AuthenticatedRequests_DoNotSpendTheAddressBudget()
    {
        await StartAsync(perAddress: 3, perKeyId: 1000);
        var good = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        for (var i = 0; i < 20; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(_host.Http, "/v1/market/symbols", good)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(_host.Http, "/v1/market/symbols", null)).StatusCode);
    }

    [Fact]
    public async Task Proxy_WrongSecretFloodOnOneKeyId_Gets429ForThatIdOnly()
    {
        await StartAsync(perAddress: 1000, perKeyId: 5);
        var target = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var other = await _host.CreateKeyAsync("standard", Scopes.MarketRead);
        var wrongSecret = target[..^2] + (target[^2] == 'A' ? "BB" : "AA");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++) statuses.Add((await GetAsync(_otherAddress, "/v1/market/symbols", wrongSecret)).StatusCode);

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 3)), statuses);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_otherAddress, "/v1/market/symbols", other)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(_host.Http, "/v1/market/symbols", target)).StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/version")]
    [InlineData("/openapi/v1.json")]
    [InlineData("/openapi/serving/v1.json")]
    public async Task AnonymousEndpoint_OverTheAddressBudget_Returns429(string path)
    {
        await StartAsync(perAddress: 4, perKeyId: 1000);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(_host.Http, path, null)).StatusCode);
        using var refused = await GetAsync(_host.Http, path, null);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_otherAddress, path, null)).StatusCode);
    }

    [Fact]
    public async Task CreateAsync_UnknownTier_ThrowsNamingTheKnownTiers()
    {
        await Start(new());
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _host.Keys.CreateAsync("x", "platinum", [Scopes.MarketRead]));
        Assert.Contains("premium", error.Message);
        Assert.Empty(await _host.Keys.ListAsync());
    }
}
