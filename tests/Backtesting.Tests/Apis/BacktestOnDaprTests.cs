using Microsoft.Extensions.DependencyInjection;
using Platform.Backtesting.Engine.Data;
using Platform.DaprSidecar.Testing;
using Platform.OfflineStore;
using Platform.Quant;
using Platform.TestSupport;
using Platform.Workflows;

namespace Platform.Backtesting.Tests.Apis;

/// <summary>
/// The backtesting service in Dapr mode against the faithful sidecar, the same tests on both workflow engines
/// (<see cref="BacktestOnDaprEngineTests"/>, <see cref="BacktestOnEmbeddedEngineTests"/>): the API answers the same whichever runs the backtests.
/// </summary>
public abstract class BacktestOnDaprSuite(string engine) : IAsyncLifetime
{
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _gated;
    private DaprServiceHost _service = null!;
    private HttpClient Http => _service.Http;

    private static readonly object Spec = new { symbols = new[] { "ALPHA" }, strategy = "sma-cross", parameters = new { fast = 10, slow = 40 } };

    public async Task InitializeAsync() =>
        _service = await DaprServiceHost.StartAsync(BacktestingService.Module, engine, new Dictionary<string, string?>
        {
            ["Backtesting:SyntheticFallback"] = "true",
            ["Backtesting:Limits:MaxConcurrentRuns"] = "1",
            ["Workflows:PollInterval"] = "00:00:00.100",
        }, builder => builder.Services.AddSingleton<IBarSource>(sp => new GatedBarSource(
            BacktestingService.CreateBarSource(sp.GetRequiredService<IBarReader>(), syntheticFallback: true), this)));

    public async Task DisposeAsync()
    {
        _open.TrySetResult();
        if (_service is not null) await _service.DisposeAsync();
    }

    private IReadOnlyList<string> Published(string id) =>
        _service.Cluster.Broker.Published.Where(m => m.Topic == Topics.WorkflowEvents && m.Id == id).Select(m => m.Id).ToList();

    private async Task<JsonElement> WaitForEndAsync(string location)
    {
        JsonElement run = default;
        await Eventually.UntilAsync(async () =>
        {
            run = await Http.GetFromJsonAsync<JsonElement>(location);
            return run.GetProperty("status").GetString() is "completed" or "failed" or "terminated";
        }, "the backtest's end", TimeSpan.FromSeconds(60));
        return run;
    }

    [Fact]
    public async Task PostBacktest_OnDapr_CompletesWithReportAndPublishesCompletedOnce()
    {
        var response = await Http.PostAsJsonAsync("/v1/backtests", Spec);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        var id = location.Split('/')[^1];

        var run = await WaitForEndAsync(location);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(1.0, run.GetProperty("progress").GetDouble());
        Assert.True(run.GetProperty("report").GetProperty("curve").GetArrayLength() > 100);
        Assert.Equal("ALPHA", run.GetProperty("spec").GetProperty("symbols")[0].GetString());
        Assert.Equal(engine, _service.Host.Services.GetRequiredService<IWorkflowClient>().Engine);
        Assert.Equal(engine == "embedded", _service.Cluster.State.Keys(Components.StateStore, AppTopology.Backtesting.AppId)
            .Any(k => k.StartsWith("workflow:", StringComparison.Ordinal)));
        await Eventually.UntilAsync(() => Published($"wf:{id}:completed").Count > 0, "the completed event");
        Assert.Single(Published($"wf:{id}:completed"));
        Assert.Empty(Published($"wf:{id}:failed"));
    }

    [Fact]
    public async Task PostBacktest_SecondWhileOneRuns_RefusedThenCancelTerminatesTheFirst()
    {
        _gated = true;
        var response = await Http.PostAsJsonAsync("/v1/backtests", Spec);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        await Eventually.UntilAsync(async () =>
            (await Http.GetFromJsonAsync<JsonElement>(location)).GetProperty("status").GetString() == "running", "the run running");

        var second = await Http.PostAsJsonAsync("/v1/backtests", Spec);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal("Backtesting:Limits:MaxConcurrentRuns", (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("limit").GetString());

        var cancelled = await Http.DeleteAsync(location);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var run = await cancelled.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("terminated", run.GetProperty("status").GetString());
        Assert.StartsWith("Cancelled by", run.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, run.GetProperty("report").ValueKind);
    }

    /// <summary>The service's bar source; while the suite is gated, a run's bars are held until the test ends.</summary>
    private sealed class GatedBarSource(IBarSource inner, BacktestOnDaprSuite suite) : IBarSource
    {
        public string Name => inner.Name;

        public async Task<Bar[]?> GetBarsAsync(string symbol, BarInterval interval, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct = default)
        {
            if (suite._gated) await suite._open.Task.WaitAsync(ct);
            return await inner.GetBarsAsync(symbol, interval, from, to, ct);
        }

        public Task<bool> HasSymbolAsync(string symbol, BarInterval interval, CancellationToken ct = default) => inner.HasSymbolAsync(symbol, interval, ct);
    }
}

public sealed class BacktestOnDaprEngineTests() : BacktestOnDaprSuite("dapr");

public sealed class BacktestOnEmbeddedEngineTests() : BacktestOnDaprSuite("embedded");
