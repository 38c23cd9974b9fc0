using Dapr.Workflow;
using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.DaprSidecar.Testing;

namespace Platform.Workflows.Tests;

/// <summary>
/// The runtime the runners work on: by default the embedded one in a temp directory (SQLite state and event log); with
/// <c>dapr: true</c> the Dapr adapter (DaprClient over gRPC) against a faithful sidecar, whose state store keeps JSON
/// re-serialized as PostgreSQL's jsonb does and whose violations fail the test at disposal.
/// </summary>
public sealed class TestRuntime : IAsyncDisposable
{
    public const string AppId = "wftest";
    private readonly List<RunningRunner> _runners = [];
    private readonly SidecarCluster? _cluster;
    private readonly FaithfulSidecar? _sidecar;
    private readonly ServiceProvider? _dapr;

    public TestRuntime(bool dapr = false)
    {
        Dir = Path.Combine(Path.GetTempPath(), "wf-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        if (!dapr)
        {
            Store = new SqliteStateStore(SqliteFile.Open(StatePath, SqliteStateStore.Schema), "statestore", AppId);
            Publisher = new EmbeddedEventPublisher(EventLog.For(EventsPath), AppId, new PubSubOptions());
            return;
        }
        _cluster = new SidecarCluster();
        _sidecar = _cluster.StartSidecarAsync(AppId).GetAwaiter().GetResult();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(_sidecar.AppSettings()).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDaprRuntime(AppId, configuration);
        _dapr = services.BuildServiceProvider();
        Store = _dapr.GetRequiredService<IStateStoreProvider>().Get("statestore");
        Publisher = _dapr.GetRequiredService<IEventPublisher>();
    }

    public string Dir { get; }
    public string StatePath => Path.Combine(Dir, "state.db");
    public string EventsPath => Path.Combine(Dir, "pubsub.db");
    public IStateStore Store { get; }
    public SidecarCluster? Cluster => _cluster;
    public IEventPublisher Publisher { get; }
    public Effects Effects { get; } = new();

    /// <summary>Starts a runner (its own container, as a replica would have) and returns it with its client.</summary>
    public RunningRunner StartRunner(Action<WorkflowRunnerOptions>? configure = null, Action<Dapr.Workflow.WorkflowRuntimeOptions>? register = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IStateStoreProvider>(new OneStore(Store));
        services.AddSingleton(Publisher);
        services.AddSingleton(Effects);
        services.AddWorkflows(o =>
        {
            TestWorkflows.Register(o);
            register?.Invoke(o);
        }, o =>
        {
            o.LeaseDuration = TimeSpan.FromSeconds(2);
            o.RenewInterval = TimeSpan.FromMilliseconds(400);
            o.PollInterval = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(o);
        });
        var provider = services.BuildServiceProvider();
        var runner = new RunningRunner(provider);
        _runners.Add(runner);
        return runner;
    }

    /// <summary>A client with no runner of its own (another process's view).</summary>
    public WorkflowClient Client() =>
        new(Store, new WorkflowRunnerOptions { PollInterval = TimeSpan.FromMilliseconds(50) }, new WorkflowSignals());

    /// <summary>Events published with this CloudEvent id (a raw count: duplicates included).</summary>
    public int CountEvents(string id)
    {
        if (_cluster is not null) return _cluster.Broker.Published.Count(m => m.Topic == "workflow-events" && m.Id == id);
        using var connection = new SqliteConnection($"Data Source={EventsPath};Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM events WHERE topic = 'workflow-events' AND id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in _runners) await r.DisposeAsync();
        if (_dapr is not null) await _dapr.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class OneStore(IStateStore store) : IStateStoreProvider
    {
        public IStateStore Get(string componentName) => store;
    }
}

public sealed class RunningRunner : IAsyncDisposable
{
    private readonly ServiceProvider _provider;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    public RunningRunner(ServiceProvider provider)
    {
        _provider = provider;
        Runner = provider.GetRequiredService<WorkflowRunner>();
        Client = provider.GetRequiredService<WorkflowClient>();
        _running = Task.Run(() => Runner.RunAsync(_stop.Token));
    }

    public WorkflowRunner Runner { get; }
    public WorkflowClient Client { get; }
    public WorkflowRuns Runs => _provider.GetRequiredService<WorkflowRuns>();

    /// <summary>Graceful stop: running instances stop and their leases are released.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await _running;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        await _provider.DisposeAsync();
    }
}

/// <summary>Counts the side effects of activities: runs started and finished per (instance, activity key).</summary>
public sealed class Effects
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    private readonly ConcurrentQueue<(string Key, DateTime At)> _timeline = new();

    public void Add(string instanceId, string what)
    {
        _counts.AddOrUpdate(instanceId + "/" + what, 1, (_, n) => n + 1);
        _timeline.Enqueue((instanceId + "/" + what, DateTime.UtcNow));
    }

    public List<DateTime> Times(string instanceId, string what) =>
        _timeline.Where(e => e.Key == instanceId + "/" + what).Select(e => e.At).ToList();

    public int Count(string instanceId, string what) => _counts.TryGetValue(instanceId + "/" + what, out var n) ? n : 0;

    /// <summary>Gates an activity can wait on, to hold an instance at a known point.</summary>
    public ConcurrentDictionary<string, TaskCompletionSource> Gates { get; } = new(StringComparer.Ordinal);

    public TaskCompletionSource Gate(string name) => Gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}

/// <summary>A test class with a fresh <see cref="TestRuntime"/> for each test, disposed after it.</summary>
public abstract class RuntimeTest : IAsyncLifetime
{
    protected TestRuntime Runtime { get; } = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Runtime.DisposeAsync().AsTask();
}
