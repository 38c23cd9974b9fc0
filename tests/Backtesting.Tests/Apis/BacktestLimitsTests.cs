using System.Text;
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

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body = null, string? principal = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (principal is not null) request.Headers.Add(Caller.Header, principal);
        return Client.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Post_MoreSymbolsThanTheLimit_BadRequestNamingTheLimitAndItsValue()
    {
        var response = await SendAsync(HttpMethod.Post, "/v1/backtests", new { symbols = Eight.Append("INDIA").ToArray(), strategy = "sma-cross" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await ProblemAsync(response)).GetProperty("errors").GetProperty("symbols")[0].GetString();
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
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var message = (await ProblemAsync(refused)).GetProperty("errors").GetProperty("symbols")[0].GetString();
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
        var perCaller = await ProblemAsync(second);
        Assert.Equal("Backtesting:Limits:MaxConcurrentRunsPerCaller", perCaller.GetProperty("limit").GetString());
        Assert.Equal(1, perCaller.GetProperty("value").GetInt32());

        var bobs = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Bob);
        Assert.Equal(HttpStatusCode.Accepted, bobs.StatusCode);
        var carols = await SendAsync(HttpMethod.Post, "/v1/backtests", SlowBacktest, Carol);
        Assert.Equal(HttpStatusCode.TooManyRequests, carols.StatusCode);
        var total = await ProblemAsync(carols);
        Assert.Equal("Backtesting:Limits:MaxConcurrentRuns", total.GetProperty("limit").GetString());
        Assert.Equal(2, total.GetProperty("value").GetInt32());

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
        await ProblemAsync(response);
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
        await ProblemAsync(response);
    }

    [Fact]
    public async Task OpenApi_Backtests_DescribesCancelAndTheConcurrencyLimit()
    {
        var document = await Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var path = document.GetProperty("paths").GetProperty("/v1/backtests/{id}");
        Assert.Equal("CancelBacktest", path.GetProperty("delete").GetProperty("operationId").GetString());
        var post = document.GetProperty("paths").GetProperty("/v1/backtests").GetProperty("post");
        Assert.True(post.GetProperty("responses").TryGetProperty("429", out _));
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
        Assert.Equal("Backtest not found.", (await ProblemAsync(other)).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, location, principal: Bob)).StatusCode);
    }
}
