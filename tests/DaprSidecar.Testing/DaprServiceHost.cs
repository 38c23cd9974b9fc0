using Microsoft.AspNetCore.Builder;
using Platform.ServiceDefaults;
using Platform.TestSupport;

namespace Platform.DaprSidecar.Testing;

/// <summary>
/// One service as it runs under a sidecar (<c>Runtime:Mode=dapr</c>), over real Kestrel: its state and pub/sub through the
/// Dapr adapter against a faithful sidecar of its own cluster, and its workflows on the engine named by
/// <c>Workflows:Engine</c>. On <c>dapr</c>, Dapr.Workflow's worker and client talk to an <see cref="InMemoryWorkflowSidecar"/>
/// (daprd serves both APIs on one port; here two doubles share the work); on <c>embedded</c>, the project's runner keeps its
/// records in the faithful sidecar's state store.
/// </summary>
public sealed class DaprServiceHost : IAsyncDisposable
{
    private InMemoryWorkflowSidecar? _workflows;

    private DaprServiceHost(SidecarCluster cluster, InMemoryWorkflowSidecar? workflows) => (Cluster, _workflows) = (cluster, workflows);

    public SidecarCluster Cluster { get; }
    public ServiceTestHost Host { get; private set; } = null!;
    public HttpClient Http => Host.Http;

    /// <param name="engine"><c>dapr</c> or <c>embedded</c>.</param>
    /// <param name="settings">Configuration after the sidecar's and the mode's.</param>
    /// <param name="configure">Last changes to the builder (test doubles of the service's own dependencies).</param>
    public static async Task<DaprServiceHost> StartAsync(ServiceModule module, string engine, IReadOnlyDictionary<string, string?> settings,
        Action<WebApplicationBuilder>? configure = null)
    {
        var cluster = new SidecarCluster();
        var host = new DaprServiceHost(cluster, engine == "dapr" ? await InMemoryWorkflowSidecar.StartAsync() : null);
        try
        {
            var sidecar = await cluster.StartSidecarAsync(module.App.AppId);
            var all = new Dictionary<string, string?>(sidecar.AppSettings())
            {
                ["Runtime:Mode"] = "dapr",
                ["Workflows:Engine"] = engine,
            };
            foreach (var (key, value) in settings) all[key] = value;
            host.Host = await ServiceTestHost.StartAsync(module, new ServiceTestOptions
            {
                Settings = all,
                Configure = builder =>
                {
                    host._workflows?.Attach(builder.Services);
                    configure?.Invoke(builder);
                },
            });
            await sidecar.ConnectAppAsync(new Uri(host.Host.Url + "/"));
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the workflow engine's sidecar (on <c>dapr</c>) while the app keeps running, as when daprd restarts.</summary>
    public async Task StopWorkflowEngineAsync()
    {
        if (_workflows is null) throw new InvalidOperationException("Only the dapr engine has a workflow sidecar to stop.");
        await _workflows.DisposeAsync();
        _workflows = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (Host is not null) await Host.DisposeAsync();
        if (_workflows is not null) await _workflows.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
