using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Platform.TestSupport;

/// <summary>
/// A service's real entry point (<c>Platform.{Service}.dll</c>, built next to the test assembly through its project
/// reference) run with <c>dotnet</c> as an OS process of its own on the embedded runtime, for the process-kill suites:
/// it listens on a port the OS picks (read back from its log), its output is captured, and <see cref="Kill"/> sends
/// SIGKILL, so no shutdown code runs. <see cref="Dispose"/> kills it too, whatever the test's outcome.
/// </summary>
public sealed partial class ServiceChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _waits = [];

    private ServiceChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
    }

    public string Name { get; }
    public Uri? BaseAddress { get; private set; }
    public bool HasExited => _process.HasExited;

    /// <summary>The service's process id (it runs in the process this started, not in a child of it).</summary>
    public int ProcessId => _process.Id;

    public string Output
    {
        get
        {
            lock (_lock) return _output.ToString();
        }
    }

    /// <summary>
    /// Starts <c>Platform.{service}.dll</c> in embedded mode on <paramref name="dataDir"/> with <paramref name="settings"/> as
    /// environment configuration (<c>:</c> written <c>__</c>), and waits until <c>/health/ready</c> answers 200.
    /// </summary>
    /// <param name="workingDirectory">The process's current directory (default: the binaries' folder).</param>
    public static async Task<ServiceChildProcess> StartAsync(string service, string dataDir, IReadOnlyDictionary<string, string> settings, TimeSpan timeout,
        string? workingDirectory = null)
    {
        var dir = AppContext.BaseDirectory;
        var dll = Path.Combine(dir, $"Platform.{service}.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: the test project must reference the service project.", dll);
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? dir,
        };
        if (File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
        {
            start.ArgumentList.Add(dll);
        }
        else
        {
            // The service's own runtime config is not copied next to the tests: run it with the test assembly's, whose
            // dependency file lists the service and everything it needs.
            var config = Directory.GetFiles(dir, "*.Tests.runtimeconfig.json").Single();
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add("--runtimeconfig");
            start.ArgumentList.Add(config);
            start.ArgumentList.Add("--depsfile");
            start.ArgumentList.Add(config.Replace(".runtimeconfig.json", ".deps.json", StringComparison.Ordinal));
            start.ArgumentList.Add(dll);
        }
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DAPR_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Runtime__Mode"] = "embedded";
        start.Environment["DataDir"] = dataDir;
        start.Environment["Logging__Format"] = "text";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = new Process { StartInfo = start };
        if (!process.Start()) throw new InvalidOperationException($"could not start {service}");
        var child = new ServiceChildProcess(process, service);
        try
        {
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var line = await child.WaitForLineAsync("Now listening on: ", timeout);
            child.BaseAddress = new Uri(ListeningOn().Match(line).Groups[1].Value);
            await child.WaitUntilReadyAsync(timeout);
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before it was ready:\n{Output}");
            try
            {
                using var response = await http.GetAsync("/health/ready");
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name} was not ready within {timeout}:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>A client for the service (no app token: the embedded process is started without one).</summary>
    public HttpClient Client(TimeSpan? timeout = null) =>
        new() { BaseAddress = BaseAddress ?? throw new InvalidOperationException($"{Name} is not listening"), Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_lock)
        {
            _output.AppendLine(line);
            foreach (var (text, seen) in _waits)
            {
                if (line.Contains(text, StringComparison.Ordinal)) seen.TrySetResult(line);
            }
        }
    }

    /// <summary>Waits for a line of output containing <paramref name="text"/> and returns it; fails after <paramref name="timeout"/> or when the process exits.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            foreach (var line in _output.ToString().Split('\n'))
            {
                if (line.Contains(text, StringComparison.Ordinal)) return line.TrimEnd('\r');
            }
            _waits.Add((text, seen));
        }
        using var cts = new CancellationTokenSource(timeout);
        var exited = _process.WaitForExitAsync(cts.Token);
        await Task.WhenAny(seen.Task, exited);
        if (seen.Task.IsCompleted) return await seen.Task;
        throw new TimeoutException(_process.HasExited
            ? $"{Name} exited with {_process.ExitCode} before printing '{text}':\n{Output}"
            : $"{Name} did not print '{text}' within {timeout}:\n{Output}");
    }

    /// <summary>
    /// Starts <paramref name="service"/>, posts a run to <paramref name="path"/>, waits until the run halts at the kill point
    /// <paramref name="point"/> (the service prints <c>HALTED {point}</c>) and kills the process; returns the run's location.
    /// </summary>
    public static async Task<string> PostRunAndKillAtAsync(string service, string dataDir, IReadOnlyDictionary<string, string> settings,
        string path, HttpContent body, string point, TimeSpan timeout)
    {
        using var process = await StartAsync(service, dataDir, settings, timeout);
        using var http = process.Client();
        using var response = await http.PostAsync(path, body);
        if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
            throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var location = response.Headers.Location!.ToString();
        await process.WaitForLineAsync($"HALTED {point}", timeout);
        process.Kill();
        return location;
    }

    /// <summary>SIGKILL, and waits for the process to be gone: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
