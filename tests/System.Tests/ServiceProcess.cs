using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Reflection;

namespace Platform.SystemTests;

/// <summary>
/// One service as it is deployed: its own build output (<c>services/{Folder}/bin/...</c>) started with <c>dotnet</c> in an OS
/// process of its own, configured through environment variables only, the API on one port and <c>/metrics</c> on a
/// management port, as in the Kubernetes manifests.
/// </summary>
public sealed class ServiceProcess : IDisposable
{
    private static readonly Dictionary<string, string> Folders = new()
    {
        ["gateway"] = "Gateway", ["marketdata"] = "MarketData", ["features"] = "Features", ["training"] = "Training",
        ["serving"] = "Serving", ["backtesting"] = "Backtesting", ["monitoring"] = "Monitoring",
    };

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private ServiceProcess(string name, string appId, Process process, int port, int managementPort)
    {
        Name = name;
        AppId = appId;
        _process = process;
        Url = $"http://127.0.0.1:{port}";
        MetricsUrl = $"http://127.0.0.1:{managementPort}/metrics";
    }

    public string Name { get; }
    public string AppId { get; }
    public string Url { get; }
    public string MetricsUrl { get; }
    public bool HasExited => _process.HasExited;
    public int ProcessId => _process.Id;

    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    private static string Configuration { get; } = Metadata("Configuration");

    /// <summary>
    /// Starts the app and waits until <c>/health/ready</c> answers 200 (or the process exits: its log is in the exception).
    /// A port is only known free until someone else binds it (other test runs share the machine), so a start that fails to
    /// bind is retried on fresh ports.
    /// </summary>
    public static async Task<ServiceProcess> StartAsync(string appId, string name, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(appId, name, environment, timeout);
            }
            catch (PortTakenException) when (attempt < 5)
            {
            }
        }
    }

    private static async Task<ServiceProcess> StartOnceAsync(string appId, string name, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var folder = Folders[appId];
        var dll = Path.Combine(RepositoryRoot, "services", folder, "bin", Configuration, "net10.0", $"Platform.{folder}.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"Build the solution first: {dll} is missing.", dll);
        int port = FreePort(), managementPort = FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.WorkingDirectory = Path.GetDirectoryName(dll)!;
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("DAPR_", StringComparison.Ordinal)).ToList()) start.Environment.Remove(key);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port};http://127.0.0.1:{managementPort}";
        start.Environment["Management__Port"] = managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__Format"] = "text";
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var service = new ServiceProcess(name, appId, process, port, managementPort);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (process.HasExited)
            {
                process.WaitForExit(); // drains the redirected output
                var (exitCode, log) = (process.ExitCode, service.Log);
                service.Dispose();
                if (log.Contains("address already in use", StringComparison.OrdinalIgnoreCase)) throw new PortTakenException($"{name} could not bind its ports:\n{log}");
                throw new InvalidOperationException($"{name} exited with code {exitCode} before it was ready:\n{log}");
            }
            try
            {
                if ((await http.GetAsync(service.Url + "/health/ready")).StatusCode == HttpStatusCode.OK) return service;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
            {
                service.Dispose();
                throw new TimeoutException($"{name} was not ready within {timeout}:\n{service.Log}");
            }
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL, as a node failure or an OOM kill would end it: no graceful shutdown.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
    public string Log => string.Join('\n', _log);

    private void Append(string? line)
    {
        if (line is null) return;
        _log.Enqueue($"[{Name}] {line}");
        while (_log.Count > 2000) _log.TryDequeue(out _);
    }

    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>A port free now and not handed to another process of this run (replicas start concurrently).</summary>
    private static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true)) return port;
        }
    }

    private sealed class PortTakenException(string message) : Exception(message);

    private static string Metadata(string key) =>
        typeof(ServiceProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) Kill();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
