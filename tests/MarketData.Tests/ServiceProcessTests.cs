using Platform.TestSupport;

namespace Platform.MarketData.Tests;

/// <summary>The marketdata service as its own OS process (its real entry point, embedded runtime).</summary>
[Trait("Category", "Slow")]
public sealed class ServiceProcessTests : IDisposable
{
    private readonly string _cwd = Path.Combine(Path.GetTempPath(), "md-cwd-" + Guid.NewGuid().ToString("N"));

    public ServiceProcessTests() => Directory.CreateDirectory(_cwd);

    public void Dispose()
    {
        try { Directory.Delete(_cwd, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// Started from another directory that also holds its data, the service's content root (whose whole tree the host
    /// watches for configuration changes) is still its binaries' folder, so its own SQLite writes do not wake that watcher.
    /// </summary>
    [Fact]
    public async Task Start_FromAnotherWorkingDirectory_ContentRootIsTheBinariesFolder()
    {
        using var service = await ServiceChildProcess.StartAsync("MarketData", Path.Combine(_cwd, "data"), new Dictionary<string, string>(),
            TimeSpan.FromMinutes(1), workingDirectory: _cwd);

        var line = await service.WaitForLineAsync("Content root path: ", TimeSpan.FromSeconds(30));

        var root = line[(line.IndexOf("Content root path: ", StringComparison.Ordinal) + "Content root path: ".Length)..].Trim();
        Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), Path.TrimEndingDirectorySeparator(root));
    }
}
