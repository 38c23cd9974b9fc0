using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Contracts;
using Platform.TestSupport;

namespace Platform.Backtesting.Tests.Apis;

/// <summary>The backtesting service on the shared test host.</summary>
public sealed class BacktestingServiceFixture : IAsyncLifetime
{
    private ServiceTestHost? _host;
    public string DataDir => _host!.DataDir;
    public HttpClient Client => _host!.Http;

    public async Task InitializeAsync() =>
        _host = await ServiceTestHost.StartAsync(BacktestingService.Module, new ServiceTestOptions
        {
            Settings = new Dictionary<string, string?> { ["Workflows:PollInterval"] = "00:00:00.100" },
        });

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

public class BacktestApiTests(BacktestingServiceFixture service) : IClassFixture<BacktestingServiceFixture>
{
    private HttpClient Client => service.Client;

    private async Task<JsonElement> WaitForEndAsync(string location)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (true)
        {
            var run = await Client.GetFromJsonAsync<JsonElement>(location);
            var status = run.GetProperty("status").GetString();
            if (status is "completed" or "failed" or "terminated") return run;
            Assert.True(DateTime.UtcNow < deadline, $"the run is still {status}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Post_ValidSpec_RunsToCompletionWithStatisticsCurvesAndTrades()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "ALPHA", "BRAVO" },
            strategy = "sma-cross",
            parameters = new { fast = 10, slow = 40 },
            commission = new { model = "per-share", perShare = 0.005, minimum = 1.0 },
            slippage = new { model = "bps", bps = 5 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var location = response.Headers.Location!.ToString();
        Assert.Equal(accepted.GetProperty("location").GetString(), location);

        var run = await WaitForEndAsync(location);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        var report = run.GetProperty("report");
        Assert.Equal("buy-and-hold", report.GetProperty("summary").GetProperty("benchmark").GetString());
        Assert.True(report.GetProperty("strategy").GetProperty("trades").GetProperty("count").GetInt32() > 0);
        Assert.True(report.GetProperty("strategy").GetProperty("costs").GetProperty("commission").GetDouble() > 0);
        Assert.True(report.GetProperty("benchmark").GetProperty("returns").TryGetProperty("totalReturn", out _));
        Assert.True(report.GetProperty("relative").TryGetProperty("beta", out _));
        Assert.True(report.GetProperty("curve").GetArrayLength() > 100);
        Assert.True(report.GetProperty("trades").GetArrayLength() > 0);
        Assert.Equal("ALPHA", run.GetProperty("spec").GetProperty("symbols")[0].GetString());
    }

    [Fact]
    public async Task Post_ModelStrategy_Completes()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "CHARLIE" }, strategy = "model", allowShort = true,
            parameters = new { lags = 3, train = 252, test = 126 },
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await WaitForEndAsync(response.Headers.Location!.ToString());
        Assert.Equal("completed", run.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Post_UnknownSymbol_Is404Problem()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "NOPE" }, strategy = "sma-cross" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("NOPE", await response.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, object> BadRequests => new()
    {
        { "strategy", new { symbols = new[] { "ALPHA" }, strategy = "astrology" } },
        { "symbols", new { symbols = Array.Empty<string>(), strategy = "sma-cross" } },
        { "to", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", from = "2020-01-01T00:00:00Z", to = "2019-01-01T00:00:00Z" } },
        { "parameters.fast", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", parameters = new { fast = -5 } } },
        { "parameters.period", new { symbols = new[] { "ALPHA" }, strategy = "mean-reversion", parameters = new { period = 0 } } },
        { "commission.rate", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", commission = new { model = "percent", rate = 1.5 } } },
        { "slippage.bps", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", slippage = new { model = "bps", bps = 20_000 } } },
        { "maxLeverage", new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", maxLeverage = -1 } },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Post_InvalidSpec_Is400ValidationProblemNamingTheField(string field, object body)
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
    }

    [Fact]
    public async Task Get_UnknownId_Is404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/backtests/bt-doesnotexist")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/backtests/not%20valid")).StatusCode);
    }

    [Fact]
    public async Task Post_RangeWithoutBars_RunFailsWithReasonAndServiceKeepsServing()
    {
        var response = await Client.PostAsJsonAsync("/v1/backtests", new
        {
            symbols = new[] { "ALPHA" }, strategy = "sma-cross", from = "1990-01-01T00:00:00Z", to = "1991-01-01T00:00:00Z",
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var run = await WaitForEndAsync(response.Headers.Location!.ToString());
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("No 1d bars", run.GetProperty("error").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health/live")).StatusCode);
        var again = await Client.PostAsJsonAsync("/v1/backtests", new { symbols = new[] { "ALPHA" }, strategy = "mean-reversion" });
        Assert.Equal("completed", (await WaitForEndAsync(again.Headers.Location!.ToString())).GetProperty("status").GetString());
    }

    [Fact]
    public async Task GetStrategies_ListsTheCatalog()
    {
        var strategies = await Client.GetFromJsonAsync<JsonElement>("/v1/backtests/strategies");
        Assert.Equal(["sma-cross", "mean-reversion", "model"], strategies.EnumerateArray().Select(s => s.GetProperty("name").GetString()));
    }
}
