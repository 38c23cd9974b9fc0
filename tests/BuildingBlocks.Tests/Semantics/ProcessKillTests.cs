namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>
/// Crash behaviour with real processes: a consumer killed with SIGKILL mid-delivery gets the unacknowledged
/// event redelivered after restart, the idempotency helper keeps its effect single, and several processes
/// publishing into one file lose nothing.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ProcessKillTests : IDisposable
{
    private readonly TempDir _dir = new();

    private static string ChildDll()
    {
        var candidates = new[] { "Debug", "Release" }
            .Select(c => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "BuildingBlocks.ChildProcess", "bin", c, "net10.0", "BuildingBlocks.ChildProcess.dll")))
            .Concat([Path.Combine(AppContext.BaseDirectory, "..", "..", "BuildingBlocks.ChildProcess",
                AppContext.BaseDirectory.Contains("release", StringComparison.OrdinalIgnoreCase) ? "release" : "debug", "BuildingBlocks.ChildProcess.dll")])
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .ToList();
        return candidates.FirstOrDefault() ?? throw new FileNotFoundException("BuildingBlocks.ChildProcess.dll was not built next to the tests.");
    }

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ChildDll());
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the child process");
    }

    private static string[] Lines(string file) => File.Exists(file) ? File.ReadAllLines(file) : [];

    [Fact]
    public async Task Consumer_KilledMidDelivery_RedeliversAfterRestartWithOneEffectEach()
    {
        var log = Path.Combine(_dir.Path, "deliveries.log");
        var publisher = Start("publish", _dir.Path, Topics.MarketBars, "10");
        await publisher.WaitForExitAsync();
        Assert.Equal(0, publisher.ExitCode);

        // e3's delivery never ends in this process: the kill lands mid-delivery however slow the machine is.
        var consumer = Start("consume", _dir.Path, "killed-app", Topics.MarketBars, log, "300", "e3");
        await TestRuntime.WaitUntilAsync(() => Lines(log).Contains("start e3"), "the consumer to start e3", 30_000);
        consumer.Kill(entireProcessTree: true); // SIGKILL: no shutdown code runs
        await consumer.WaitForExitAsync();
        Assert.DoesNotContain("done e3", Lines(log));

        await RestartAndAssertE3RedeliveredAndEachDoneOnceAsync("killed-app", log);

        using var host = TestRuntime.Build(_dir.Path, "killed-app");
        var effects = await host.Services.GetRequiredService<IStateStoreProvider>().PrivateStore().GetAsync<int>("effects");
        Assert.Equal(10, effects);
    }

    [Fact]
    public async Task Consumer_KilledMidDeliveryOfEventsItPublished_RedeliversFromTheFileWithOneEffectEach()
    {
        // The first process publishes and consumes its own events, so it delivers them from the log's committed tail.
        var log = Path.Combine(_dir.Path, "deliveries.log");
        var first = Start("publish-consume", _dir.Path, "tail-app", Topics.MarketBars, log, "10", "300", "e3");
        await TestRuntime.WaitUntilAsync(() => Lines(log).Contains("start e3"), "the consumer to start e3", 30_000);
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();
        Assert.DoesNotContain("done e3", Lines(log));

        await RestartAndAssertE3RedeliveredAndEachDoneOnceAsync("tail-app", log);
    }

    [Fact]
    public async Task Publish_FromSeveralProcessesIntoOneFile_EveryEventDelivered()
    {
        var log = Path.Combine(_dir.Path, "deliveries.log");
        var consumer = Start("consume", _dir.Path, "many", Topics.Predictions, log, "0");
        try
        {
            var publishers = Enumerable.Range(0, 3).Select(_ => Start("publish", _dir.Path, Topics.Predictions, "200")).ToList();
            foreach (var p in publishers)
            {
                await p.WaitForExitAsync();
                Assert.Equal(0, p.ExitCode);
            }
            // Three publishers used the same ids e0..e199: 600 deliveries, 200 effects.
            await TestRuntime.WaitUntilAsync(() => Lines(log).Count(l => l.StartsWith("start ", StringComparison.Ordinal)) >= 600, "600 deliveries", 60_000);
        }
        finally
        {
            consumer.Kill(entireProcessTree: true);
            await consumer.WaitForExitAsync();
        }
        var lines = Lines(log);
        Assert.Equal(200, lines.Count(l => l.StartsWith("done ", StringComparison.Ordinal)));
        Assert.Equal(400, lines.Count(l => l.StartsWith("duplicate ", StringComparison.Ordinal)));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>Restarts <paramref name="appId"/>'s consumer until it has handled all ten events, then checks e3 came again and each was done once.</summary>
    private async Task RestartAndAssertE3RedeliveredAndEachDoneOnceAsync(string appId, string log)
    {
        var restarted = Start("consume", _dir.Path, appId, Topics.MarketBars, log, "0");
        try
        {
            await TestRuntime.WaitUntilAsync(() => Lines(log).Any(l => l == "done e9" || l == "duplicate e9"), "all ten events", 30_000);
        }
        finally
        {
            restarted.Kill(entireProcessTree: true);
            await restarted.WaitForExitAsync();
        }

        var lines = Lines(log);
        Assert.True(lines.Count(l => l == "start e3") >= 2, "e3 was unacknowledged when killed, so it must be delivered again");
        for (var i = 0; i < 10; i++) Assert.Single(lines, l => l == $"done e{i}");
    }
}
