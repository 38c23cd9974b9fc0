using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.Backtesting.Testing;
using Platform.BuildingBlocks.Embedded;
using Platform.Contracts;
using Platform.TestSupport;

namespace Platform.Backtesting.Tests;

/// <summary>
/// Backtests and SIGKILL, with real processes: the backtesting service runs as an OS process of its own (its own entry
/// point, embedded runtime, a temporary data directory, synthetic bars), a run is started through <c>POST /v1/backtests</c>,
/// and <c>Backtesting:Testing:HaltAt</c> (<see cref="KillPoints"/>) stops it mid-run, where the process is killed. A second
/// process on the same data directory resumes it: it completes with exactly one stored report and one completion event.
/// </summary>
[Trait("Category", "Slow")]
public sealed class BacktestKillTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(4);
    private readonly string _dir = Directory.CreateTempSubdirectory("backtest-kill-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static Dictionary<string, string> Settings(string? haltAt)
    {
        var settings = new Dictionary<string, string>
        {
            [BacktestingService.SyntheticFallbackKey] = "true",
            ["Workflows:PollInterval"] = "00:00:00.100",
            ["Workflows:LeaseDuration"] = "00:00:03",
            ["Workflows:RenewInterval"] = "00:00:00.500",
        };
        if (haltAt is not null) settings[KillPoints.ConfigurationKey] = haltAt;
        return settings;
    }

    [Theory]
    [InlineData(KillPoints.Simulate)]
    [InlineData(KillPoints.AfterSave)]
    public async Task Backtest_KilledAtPoint_RestartCompletesWithOneReportAndOneCompletionEvent(string point)
    {
        var location = await ServiceChildProcess.PostRunAndKillAtAsync("Backtesting", _dir, Settings(point), "/v1/backtests",
            JsonContent.Create(new { symbols = new[] { "ALPHA", "BRAVO" }, strategy = "sma-cross" }), point, Wait);
        var id = location.Split('/')[^1];

        Assert.Equal(point == KillPoints.AfterSave ? 1 : 0, Reports());
        Assert.DoesNotContain($"wf:{id}:completed", Ids(Topics.WorkflowEvents));

        using var second = await ServiceChildProcess.StartAsync("Backtesting", _dir, Settings(null), Wait);
        using var client = second.Client();
        var deadline = DateTime.UtcNow + Wait;
        JsonElement run;
        while (true)
        {
            run = await client.GetFromJsonAsync<JsonElement>(location);
            if (run.GetProperty("status").GetString() is "completed" or "failed" or "terminated") break;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{id} still {run.GetProperty("status")} after {Wait}\n{second.Output}");
            await Task.Delay(200);
        }
        Assert.True(run.GetProperty("status").GetString() == "completed", $"{run}\n{second.Output}");
        Assert.Equal(JsonValueKind.Object, run.GetProperty("report").ValueKind);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1, Reports());
        Assert.Equal(1, Ids(Topics.WorkflowEvents).Count(e => e == $"wf:{id}:completed"));
    }

    /// <summary>Stored backtest reports in the embedded state store.</summary>
    private long Reports()
    {
        var file = EmbeddedRuntimeExtensions.StateFile(_dir);
        if (!File.Exists(file)) return 0;
        using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        connection.Open();
        using var busy = connection.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout = 30000";
        busy.ExecuteNonQuery();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM state WHERE key LIKE '%backtest-report:%'";
        return (long)cmd.ExecuteScalar()!;
    }

    private IReadOnlyList<string> Ids(string topic) =>
        File.Exists(EmbeddedRuntimeExtensions.EventLogFile(_dir)) ? EmbeddedEventLog.Ids(_dir, topic) : [];
}
