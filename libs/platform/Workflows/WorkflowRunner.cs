using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

/// <summary>
/// Executes workflow instances from the state store. It finds unfinished instances in the index (and at once when
/// started in this process), takes each one's lease (ETag-guarded, renewed, expiring), replays its history and runs
/// it live from there, checkpointing every result before the workflow sees it. Any number of runners (replicas,
/// processes) can share a store: a lease lets one runner execute an instance at a time, and a runner that dies
/// loses its leases when they expire, so another resumes its instances.
/// </summary>
public sealed class WorkflowRunner
{
    private readonly ConcurrentDictionary<string, InstanceExecutor> _active = new(StringComparer.Ordinal);

    public WorkflowRunner(
        IStateStore store, IEventPublisher publisher, IServiceProvider services, WorkflowRunnerOptions options,
        WorkflowSignals signals, ILogger<WorkflowRunner> logger, TimeProvider? clock = null)
    {
        options.Validate();
        Store = new WorkflowStore(store, clock ?? TimeProvider.System);
        Publisher = publisher;
        Services = services;
        Options = options;
        Signals = signals;
        Logger = logger;
        Loggers = services.GetService(typeof(ILoggerFactory)) as ILoggerFactory;
        RunnerId = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        signals.InstanceSignaled += id =>
        {
            if (_active.TryGetValue(id, out var executor)) executor.Wake();
        };
    }

    /// <summary>This runner's lease owner id: host, process id and a random part.</summary>
    public string RunnerId { get; }

    /// <summary>Instances this runner holds right now.</summary>
    public int ActiveInstances => _active.Count;

    internal WorkflowStore Store { get; }
    internal IEventPublisher Publisher { get; }
    internal IServiceProvider Services { get; }
    internal WorkflowRunnerOptions Options { get; }
    internal WorkflowSignals Signals { get; }
    internal ILogger Logger { get; }
    internal ILoggerFactory? Loggers { get; }

    /// <summary>Runs until <paramref name="stoppingToken"/> fires, then stops its instances and releases their leases.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var renewals = Task.Run(() => RenewLoopAsync(stoppingToken), CancellationToken.None);
        var backlog = new Queue<string>();
        var queued = new HashSet<string>(StringComparer.Ordinal);
        var nextScan = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var id in Signals.TakeStarted())
                {
                    if (queued.Add(id)) backlog.Enqueue(id);
                }
                var now = Store.Now;
                if (now >= nextScan)
                {
                    nextScan = now + Options.PollInterval;
                    foreach (var id in await Store.ReadIndexAsync(stoppingToken))
                    {
                        if (queued.Add(id)) backlog.Enqueue(id);
                    }
                }
                while (_active.Count < Options.MaxConcurrentInstances && backlog.TryDequeue(out var next))
                {
                    queued.Remove(next);
                    if (!_active.ContainsKey(next)) await TryStartAsync(next, stoppingToken);
                }
                await Signals.WaitForWorkAsync(Options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Logger.LogError(ex, "Workflow runner {RunnerId} failed a scan; retrying", RunnerId);
                try
                {
                    await Task.Delay(Options.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        foreach (var executor in _active.Values) executor.Stop();
        await Task.WhenAll(_active.Values.Select(e => e.Completion));
        await renewals;
    }

    private async Task TryStartAsync(string id, CancellationToken ct)
    {
        // An instance whose definition is not registered here is left to the replicas that have it (a rolling deployment)
        // for a grace period; after that it is taken and the executor marks it Failed, as Dapr does.
        var leased = await Store.ReadLeasableAsync(id, RunnerId, record => Options.Registry.HasWorkflow(record.Name)
            || Store.Now - record.LastUpdatedAt >= Options.UnregisteredGracePeriod, ct);
        if (leased is null) return;
        var executor = new InstanceExecutor(this, leased, ct);
        if (!_active.TryAdd(id, executor)) return;
        executor.Completion = Task.Run(async () =>
        {
            try
            {
                await executor.RunAsync();
            }
            finally
            {
                _active.TryRemove(id, out _);
                Signals.WakeRunner();
            }
        }, CancellationToken.None);
    }

    private async Task RenewLoopAsync(CancellationToken ct)
    {
        var interval = Options.RenewInterval / 2;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            foreach (var executor in _active.Values)
            {
                try
                {
                    await executor.RenewIfDueAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Logger.LogWarning(ex, "Renewing the lease of workflow {InstanceId} failed", executor.InstanceId);
                }
            }
        }
    }
}
