using Platform.BuildingBlocks.Embedded;
using Platform.Contracts;

namespace Platform.Host.Tests;

/// <summary>The embedded host over real HTTP: every service up on loopback, the gateway routing to them.</summary>
public sealed class EmbeddedPlatformTests : IAsyncLifetime
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "host-tests-" + Guid.NewGuid().ToString("N"));
    private EmbeddedPlatform? _platform;
    private readonly HttpClient _http = new();

    public static EmbeddedPlatformOptions Options(string dataDir) => new()
    {
        DataDir = dataDir,
        GatewayUrl = "http://127.0.0.1:0",
        EphemeralServicePorts = true,
        Settings = new Dictionary<string, string?> { ["MarketData:Demo:Enabled"] = "false" },
    };

    public async Task InitializeAsync() => _platform = await EmbeddedPlatform.StartAsync(Options(_dataDir));

    /// <summary>A direct call to a service, carrying the run's app token as the gateway does.</summary>
    private Task<HttpResponseMessage> ServiceGetAsync(string appId, string path, bool withToken = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _platform!.ServiceUrls[appId] + path);
        if (withToken) request.Headers.Add(EmbeddedPlatform.AppTokenHeader, _platform.AppToken);
        return _http.SendAsync(request);
    }

    [Theory]
    [InlineData("/health/ready", HttpStatusCode.OK)] // every service started and ready
    [InlineData("/v1/market/symbols", HttpStatusCode.Unauthorized)] // a service route without a key
    public async Task StartAsync_AnonymousGetThroughTheGateway_AnswersTheRoutesStatus(string path, HttpStatusCode expected)
    {
        var response = await _http.GetAsync(_platform!.GatewayUrl + path);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task StartAsync_EachService_ReportsItsOwnAppIdOnTheEmbeddedRuntime()
    {
        foreach (var app in AppTopology.All)
        {
            var response = app == AppTopology.Gateway ? await _http.GetAsync(_platform!.GatewayUrl + "/version") : await ServiceGetAsync(app.AppId, "/version");
            var version = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(app.AppId, version.GetProperty("app").GetString());
            Assert.Equal("embedded", version.GetProperty("runtime").GetString());
        }
    }

    [Fact]
    public async Task Gateway_UnknownRoute_Answers404ProblemDetails()
    {
        var response = await _http.GetAsync(_platform!.GatewayUrl + "/v1/no-such-api");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Gateway_ServiceRoute_IsForwardedToTheOwningService()
    {
        // /v1/market/... belongs to marketdata: the gateway's answer must be the service's own (not the gateway's 404).
        var key = await Platform.Gateway.Identity.DevelopmentKey.EnsureAsync(_platform!.Services("gateway"));
        var direct = await ServiceGetAsync("marketdata", "/v1/market/symbols");
        using var request = new HttpRequestMessage(HttpMethod.Get, _platform.GatewayUrl + "/v1/market/symbols");
        request.Headers.Add("X-Api-Key", key);
        var routed = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
        Assert.Equal(direct.StatusCode, routed.StatusCode);
        Assert.Equal(direct.Content.Headers.ContentType?.MediaType, routed.Content.Headers.ContentType?.MediaType);
        var backend = await _http.GetAsync(_platform.GatewayUrl + "/version");
        Assert.Equal("gateway", (await backend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("app").GetString());
    }

    [Fact]
    public async Task Services_MetricsEndpoint_ServesPrometheusText()
    {
        await ServiceGetAsync("features", "/health/live");
        var text = await (await ServiceGetAsync("features", "/metrics")).Content.ReadAsStringAsync();
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
    }

    [Theory]
    [InlineData("/v1/market/symbols")]
    [InlineData("/version")]
    [InlineData("/metrics")]
    [InlineData("/openapi/v1.json")]
    public async Task Services_CallWithoutTheAppToken_Answers401EvenOnLoopback(string path)
    {
        foreach (var app in AppTopology.Services)
        {
            using var response = await ServiceGetAsync(app.AppId, path, withToken: false);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        Assert.Equal(HttpStatusCode.OK, (await ServiceGetAsync("marketdata", "/health/live", withToken: false)).StatusCode);
    }

    [Fact]
    public async Task Services_WrongAppToken_Answers401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _platform!.ServiceUrls["marketdata"] + "/v1/market/symbols");
        request.Headers.Add(EmbeddedPlatform.AppTokenHeader, _platform.AppToken + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Gateway_ServiceRoute_ReachesTheServiceOverCleartextHttp2()
    {
        var key = await Platform.Gateway.Identity.DevelopmentKey.EnsureAsync(_platform!.Services("gateway"));
        using var request = new HttpRequestMessage(HttpMethod.Get, _platform.GatewayUrl + "/v1/market/symbols");
        request.Headers.Add("X-Api-Key", key);
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(request)).StatusCode);

        // The service's own request metrics name the protocol each request came in on.
        var metrics = await (await ServiceGetAsync("marketdata", "/metrics")).Content.ReadAsStringAsync();
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("http_server_request_duration_seconds_count{", StringComparison.Ordinal)
            && line.Contains("http_route=\"/v1/market/symbols\"") && line.Contains("network_protocol_version=\"2\""));
    }

    [Fact]
    public async Task Services_HeadersTooLarge_AnswerProblemDetailsFromEveryService()
    {
        foreach (var (app, url) in _platform!.ServiceUrls)
        {
            var uri = new Uri(url);
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync(uri.Host, uri.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 40_000) + "\r\n\r\n"));
            var answer = await new StreamReader(stream).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 431 ", answer);
            Assert.Contains("Content-Type: application/problem+json", answer);
            Assert.Contains("\"status\":431", answer);
        }
    }

    [Fact]
    public async Task Gateway_OpenApiOfAService_IsFetchedWithTheAppToken()
    {
        var response = await _http.GetAsync(_platform!.GatewayUrl + "/openapi/marketdata/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_platform is not null) await _platform.DisposeAsync();
        _http.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { }
    }
}

public sealed class EmbeddedPlatformStartupTests
{
    [Fact]
    public async Task StartAsync_CorruptStateFile_FailsNamingTheFile()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "host-corrupt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var stateFile = Path.Combine(dataDir, "state.db");
        File.WriteAllBytes(stateFile, Enumerable.Repeat((byte)7, 4096).ToArray());
        try
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => EmbeddedPlatform.StartAsync(EmbeddedPlatformTests.Options(dataDir)));
            var dataFile = FindDataFileException(ex);
            Assert.NotNull(dataFile);
            Assert.Contains(stateFile, dataFile!.Message);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dataDir, true);
        }
    }

    private static DataFileException? FindDataFileException(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is DataFileException d) return d;
            if (ex is AggregateException a) return a.InnerExceptions.Select(FindDataFileException).FirstOrDefault(x => x is not null);
        }
        return null;
    }
}
