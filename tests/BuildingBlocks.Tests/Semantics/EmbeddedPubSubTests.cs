using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>The pub/sub semantics suite on the embedded adapter (SQLite log, in-process delivery).</summary>
public sealed class EmbeddedPubSubTests : PubSubSemantics, IDisposable
{
    private readonly TempDir _dir = new();

    protected override async Task<ITestConsumer> StartAsync(string appId, Action<IServiceCollection> configure, int maxAttempts = 3)
    {
        var host = TestRuntime.Build(_dir.Path, appId, configure, maxAttempts);
        await host.StartAsync();
        return new HostConsumer(host);
    }

    private sealed class HostConsumer(IHost host) : ITestConsumer
    {
        public IServiceProvider Services => host.Services;

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
