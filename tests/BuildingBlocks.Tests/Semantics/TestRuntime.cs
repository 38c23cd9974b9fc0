using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>A temporary data directory, deleted at the end of the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bb-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Builds an app host on the embedded runtime, with delivery settings short enough for tests.</summary>
public static class TestRuntime
{
    public static IHost Build(string dataDir, string appId, Action<IServiceCollection>? configure = null, int maxAttempts = 3)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "embedded",
            ["DataDir"] = dataDir,
            ["PubSub:MaxDeliveryAttempts"] = maxAttempts.ToString(),
            ["PubSub:InitialBackoff"] = "00:00:00.010",
            ["PubSub:MaxBackoff"] = "00:00:00.050",
            ["PubSub:Embedded:PollInterval"] = "00:00:00.020",
            ["PubSub:Embedded:LeaseDuration"] = "00:00:01",
        });
        builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, appId), builder.Configuration);
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>Polls <paramref name="condition"/> until true or the timeout passes; fails with <paramref name="what"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting for: " + what);
            await Task.Delay(10);
        }
    }
}
