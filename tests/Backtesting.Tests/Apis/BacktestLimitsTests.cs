using Platform.TestSupport;

namespace Platform.Backtesting.Tests.Apis;

/// <summary>Limits, cancellation and owners of backtests, through HTTP on the shared test host (one host per test).</summary>
public sealed class BacktestLimitsTests : IAsyncLifetime
{
    private ServiceTestHost _host = null!;
    private HttpClient Client => _host.Http;

    public async Task InitializeAsync() =>
        _host = await ServiceTestHost.StartAsync(BacktestingService.Module, new ServiceTestOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Workflows:PollInterval"] = "00:00:00.100",
                ["Backtesting:SyntheticFallback"] = "true",
                ["Backtesting:Limits:MaxSymbols"] = "8",
                ["Backtesting:Limits:MaxBars"] = "25000",
                ["Backtesting:Limits:MaxConcurrentRuns"] = "2",
                ["Backtesting:Limits:MaxConcurrentRunsPerCaller"] = "1",
            },
        });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private const string Alice = "api-key:alice; scopes=backtests:write";
    private const string Bob = "api-key:bob; scopes=backtests:write";
    private const string Carol = "api-key:carol; scopes=backtests:write";
    private const string Admin = "api-key:root; scopes=admin";

    private static readonly string[] Eight = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL"];

    /// <summary>
    /// A backtest that takes a while: eight synthetic symbols (20,160 bars), the walk-forward model strategy refitted at
    /// every bar on a 2,000-bar window of 50 lags.
    /// </summary>
    private static object SlowBacktest => new
    {
        symbols = Eight,
        strategy = "model",
        parameters = new Dictionary<string, double> { ["lags"] = 50, ["train"] = 2000, ["test"] = 1 },
    };

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? principal = null) =>
        Client.SendJsonAsync(method, path, body is null ? null : JsonSerializer.Serialize(body), principal);

    /// <summary>The first error on <c>symbols</c> of a response that must be a 400 problem.</summary>
    private static async Task<string?> SymbolsRefusalAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.ReadProblemAsync()).GetProperty("errors").GetProperty("symbols")[0].GetString();
    }

    [Fact]
    public async Task Post_MoreSymbolsThanTheLimit_BadRequestNamingTheLimitAndItsValue()
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/backtests", new { symbols = Eight.Append("INDIA").ToArray(), strategy = "sma-cross" });
        var message = await SymbolsRefusalAsync(response);
        Assert.Contains("9 symbols", message);
        Assert.Contains("at most 8 (Backtesting:Limits:MaxSymbols)", message);
    }

    [Fact]
    public async Task Post_MoreBarsThanTheLimit_BadRequestNamingTheLimit()
    {
        // Two synthetic symbols of 2,520 bars: 5,040 bars against a limit of 5,000.
        await using var small = await ServiceTestHost.StartAsync(BacktestingService.Module, new ServiceTestOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["Backtesting:SyntheticFallback"] = "true",
                ["Backtesting:Limits:MaxBars"] = "5000",
            },
        });
        var refused = await small.Http.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "ALPHA", "BRAVO" }, strategy = "sma-cross" });
        var message = await SymbolsRefusalAsync(refused);
        Assert.Contains("5,040 bars", message);
        Assert.Contains("5,000 (Backtesting:Limits:MaxBars)", message);
    }

    [Fact]
    public async Task Post_ConcurrentRunLimits_TooManyRequestsPerCallerAndInTotalUntilOneIsCancelled()
    {
        var first = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Alice);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var second = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Alice);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(("Backtesting:Limits:MaxConcurrentRunsPerCaller", 1), await second.ReadLimitAsync());

        var bobs = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Bob);
        Assert.Equal(HttpStatusCode.Accepted, bobs.StatusCode);
        var carols = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Carol);
        Assert.Equal(HttpStatusCode.TooManyRequests, carols.StatusCode);
        Assert.Equal(("Backtesting:Limits:MaxConcurrentRuns", 2), await carols.ReadLimitAsync());

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, first.Headers.Location!.ToString(), principal: Alice)).StatusCode);
        var again = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Alice);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);

        foreach (var (location, who) in new[] { (bobs.Headers.Location!, Bob), (again.Headers.Location!, Alice) })
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, location.ToString(), principal: who)).StatusCode);
    }

    [Fact]
    public async Task Delete_RunningBacktest_EndsTerminatedWithoutReportAndStaysTerminatedAfterRestart()
    {
        var started = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Alice);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!.ToString();

        var cancelled = await SendAsync(HttpMethod.Delete, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var view = await cancelled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("terminated", view.GetProperty("status").GetString());
        Assert.Equal("Cancelled by api-key:alice.", view.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("report").ValueKind);

        await _host.RestartAsync();
        var run = await Client.GetFromJsonAsync<JsonElement>(location);
        Assert.Equal("terminated", run.GetProperty("status").GetString());
        var again = await SendAsync(HttpMethod.Delete, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("terminated", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Delete_FinishedBacktest_OkAndUnchanged()
    {
        var started = await SendAsync(HttpMethod.Post, "/v1/backtests", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross" });
        var location = started.Headers.Location!.ToString();
        await Eventually.UntilAsync(async () =>
            (await Client.GetFromJsonAsync<JsonElement>(location)).GetProperty("status").GetString() == "completed", "the backtest to complete");
        var deleted = await SendAsync(HttpMethod.Delete, location);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var view = await deleted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("completed", view.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, view.GetProperty("report").ValueKind);
    }

    [Fact]
    public async Task Delete_UnknownBacktest_NotFoundProblem()
    {
        var response = await SendAsync(HttpMethod.Delete, "/v1/backtests/bt-doesnotexist", principal: Admin);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await response.ReadProblemAsync();
    }

    [Theory]
    [InlineData("""{"symbols":["ALPHA"],"strategy":"sma-cross","parameters":{"fast":null}}""")]
    [InlineData("""{"symbols":["ALPHA"],"strategy":"sma-cross","initialCash":1e999}""")]
    [InlineData("""{"symbols":"ALPHA","strategy":"sma-cross"}""")]
    [InlineData("""{"symbols":[null],"strategy":"sma-cross"}""")]
    [InlineData("""{"symbols":["ALPHA"],"strategy":null}""")]
    [InlineData("""{"symbols":["ALPHA"],"strategy":"sma-cross","commission":null,"slippage":{"model":null}}""")]
    [InlineData("""{"symbols":["ALPHA"],"strategy":"sma-cross","sizing":{"model":"fixed-fraction","fraction":"NaN"}}""")]
    [InlineData("""not json""")]
    [InlineData("""null""")]
    public async Task Post_MalformedOrNullValues_BadRequestProblem(string json)
    {
        var response = await Client.PostAsync("/v1/backtests", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await response.ReadProblemAsync();
    }

    [Fact]
    public async Task OpenApi_Backtests_DescribesCancelTheConcurrencyLimitAndTheEngineUnavailable()
    {
        var (cancel, documents429, documents503) = await Client.DescribeRunApiAsync("/v1/backtests");
        Assert.Equal("CancelBacktest", cancel);
        Assert.True(documents429);
        Assert.True(documents503);
    }

    [Fact]
    public async Task Backtest_WithOwner_VisibleToOwnerAndAdminOnly()
    {
        var started = await SendAsync(HttpMethod.Post, "/v1/backtests", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross" }, Alice);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("api-key:alice", (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("owner").GetString());
        var location = started.Headers.Location!.ToString();

        var own = await SendAsync(HttpMethod.Get, location, principal: Alice);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal("api-key:alice", (await own.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("owner").GetString());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, location, principal: Admin)).StatusCode);
        var other = await SendAsync(HttpMethod.Get, location, principal: Bob);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal("Backtest not found.", (await other.ReadProblemAsync()).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, location, principal: Bob)).StatusCode);
    }
}
