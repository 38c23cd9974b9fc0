using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
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

    [Fact]
    public async Task StartAsync_AllServices_GatewayReadyAnswers200()
    {
        var response = await _http.GetAsync(_platform!.GatewayUrl + "/health/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task StartAsync_EachService_ReportsItsOwnAppIdOnTheEmbeddedRuntime()
    {
        foreach (var app in AppTopology.All)
        {
            var version = await _http.GetFromJsonAsync<JsonElement>(_platform!.ServiceUrls[app.AppId] + "/version");
            Assert.Equal(app.AppId, version.GetProperty("app").GetString());
            Assert.Equal("embedded", version.GetProperty("runtime").GetString());
        }
    }

    [Fact]
    public async Task Gateway_ServiceRouteWithoutKey_Answers401()
    {
        var response = await _http.GetAsync(_platform!.GatewayUrl + "/v1/market/symbols");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
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
        var direct = await _http.GetAsync(_platform.ServiceUrls["marketdata"] + "/v1/market/symbols");
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
        await _http.GetAsync(_platform!.ServiceUrls["features"] + "/health/live");
        var text = await _http.GetStringAsync(_platform.ServiceUrls["features"] + "/metrics");
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram", text);
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
