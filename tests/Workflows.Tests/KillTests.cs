using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Platform.Workflows.Tests;

/// <summary>
/// Crash recovery with real processes: Workflows.TestHost runs a five-step workflow, hangs at a chosen point, is
/// killed with SIGKILL there, and a second process resumes. Each step records start/done files, so a test can tell
/// which runs happened: a checkpointed step never runs again; only the step interrupted mid-way runs twice.
/// </summary>
[Trait("Category", "Slow")]
public sealed class KillTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wf-kill-" + Guid.NewGuid().ToString("N"));

    public KillTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Theory]
    [InlineData("started", 0)]
    [InlineData("inside-1", 1)]
    [InlineData("after-1", 0)]
    [InlineData("inside-2", 2)]
    [InlineData("after-2", 0)]
    [InlineData("inside-3", 3)]
    [InlineData("after-3", 0)]
    [InlineData("inside-4", 4)]
    [InlineData("after-4", 0)]
    [InlineData("inside-5", 5)]
    [InlineData("after-5", 0)]
    [InlineData("finished", 0)]
    public async Task Runner_KilledAtPoint_SecondProcessResumesAndCompletesOnce(string point, int interruptedStep)
    {
        var id = "kill-" + point;
        using (var first = Host.Start(_dir, [id], "--halt-at", point))
        {
            await first.WaitForLineAsync($"HALTED {point}", TimeSpan.FromSeconds(60));
            first.Kill();
        }

        using var second = Host.Start(_dir, [id]);
        var exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exit == 0, $"second process exited {exit}:\n{second.Output}");
        Assert.Contains($"FINISHED {id} Completed 12345", second.Output);
        for (var step = 1; step <= 5; step++)
        {
            Assert.Equal(step == interruptedStep ? 2 : 1, CountEffects(id, step, "start"));
            Assert.Equal(1, CountEffects(id, step, "done"));
        }
        Assert.Equal(1, CountEvents($"wf:{id}:completed"));
    }

    [Fact]
    public async Task TwoProcesses_SameInstances_EachStepRunsOnceAndEachInstanceCompletesOnce()
    {
        var ids = Enumerable.Range(0, 16).Select(i => $"pair-{i}").ToArray();
        using var a = Host.Start(_dir, ids, "--step-delay-ms", "20", "--max-concurrent", "3");
        using var b = Host.Start(_dir, ids, "--step-delay-ms", "20", "--max-concurrent", "3");

        var exits = await Task.WhenAll(a.WaitForExitAsync(TimeSpan.FromSeconds(90)), b.WaitForExitAsync(TimeSpan.FromSeconds(90)));

        Assert.True(exits.All(e => e == 0), $"exits {string.Join(",", exits)}:\n{a.Output}\n{b.Output}");
        foreach (var id in ids)
        {
            for (var step = 1; step <= 5; step++)
            {
                Assert.True(CountEffects(id, step, "start") == 1 && CountEffects(id, step, "done") == 1,
                    $"{id} step {step}: {CountEffects(id, step, "start")} starts, {CountEffects(id, step, "done")} done\n{a.Output}\n{b.Output}");
            }
            Assert.Equal(1, CountEvents($"wf:{id}:completed"));
        }
        // Both processes did part of the work.
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_dir, "effects")).Select(f => Path.GetFileName(f).Split('.')[3]).Distinct().Count());
    }

    [Fact]
    public async Task TwoProcesses_OneKilled_TheOtherTakesOverItsInstances()
    {
        var ids = Enumerable.Range(0, 10).Select(i => $"takeover-{i}").ToArray();
        var a = Host.Start(_dir, ids, "--halt-at", "after-2", "--step-delay-ms", "20", "--max-concurrent", "3");
        await a.WaitForLineAsync("HALTED after-2", TimeSpan.FromSeconds(60));
        using var b = Host.Start(_dir, ids, "--step-delay-ms", "20", "--max-concurrent", "3");
        await Task.Delay(300);
        a.Kill();
        a.Dispose();

        var exit = await b.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.True(exit == 0, $"survivor exited {exit}:\n{b.Output}");
        foreach (var id in ids)
        {
            Assert.Contains($"FINISHED {id} Completed 12345", b.Output);
            Assert.Equal(1, CountEvents($"wf:{id}:completed"));
            // Steps A was running when killed may run again; none runs a third time.
            for (var step = 1; step <= 5; step++) Assert.InRange(CountEffects(id, step, "done"), 1, 2);
        }
    }

    private int CountEffects(string id, int step, string what)
    {
        var dir = Path.Combine(_dir, "effects");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, $"{id}.{step}.{what}.*").Length : 0;
    }

    private int CountEvents(string id)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir, "pubsub.db")};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM events WHERE topic = 'workflow-events' AND id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A running Workflows.TestHost (<c>dotnet Platform.Workflows.TestHost.dll</c>) with its output captured.</summary>
    private sealed class Host : IDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly object _lock = new();
        private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];

        private Host(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => OnLine(e.Data);
            _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_lock) return _output.ToString();
            }
        }

        public static Host Start(string dataDir, string[] instances, params string[] extra)
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "testhost", "Platform.Workflows.TestHost.dll");
            Assert.True(File.Exists(dll), $"Test host not built at {dll}");
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(dll);
            foreach (var arg in (string[])["--data", dataDir, "--instances", string.Join(",", instances), .. extra]) info.ArgumentList.Add(arg);
            return new Host(Process.Start(info)!);
        }

        private void OnLine(string? line)
        {
            if (line is null) return;
            lock (_lock)
            {
                _output.AppendLine(line);
                foreach (var (text, seen) in _waits)
                {
                    if (line.Contains(text, StringComparison.Ordinal)) seen.TrySetResult();
                }
            }
        }

        public async Task WaitForLineAsync(string text, TimeSpan timeout)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (_output.ToString().Contains(text, StringComparison.Ordinal)) return;
                _waits.Add((text, seen));
            }
            if (await Task.WhenAny(seen.Task, Task.Delay(timeout)) != seen.Task)
                Assert.Fail($"'{text}' did not appear within {timeout}:\n{Output}");
        }

        /// <summary>SIGKILL: no shutdown code runs, leases are left to expire.</summary>
        public void Kill()
        {
            _process.Kill();
            _process.WaitForExit();
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                Assert.Fail($"Test host did not finish within {timeout}:\n{Output}");
            }
            _process.WaitForExit();
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill();
            _process.Dispose();
        }
    }
}
