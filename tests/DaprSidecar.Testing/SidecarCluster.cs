using System.Collections.Concurrent;

namespace Platform.DaprSidecar.Testing;

/// <summary>A component the sidecars load, as <c>GetMetadata</c> lists it. <see cref="KeyPrefix"/> is <c>appid</c>, <c>name</c> or <c>none</c>.</summary>
public sealed record SidecarComponent(string Name, string Type, string KeyPrefix = "appid", params string[] Capabilities);

/// <summary>The inbound (delivery) retry policy of a pub/sub component, as a <c>Resiliency</c> resource states it.</summary>
public sealed record DeliveryPolicy(int MaxRetries, TimeSpan Duration, TimeSpan MaxInterval, TimeSpan Timeout)
{
    /// <summary>Short enough for tests: three retries 10 ms apart at first.</summary>
    public static readonly DeliveryPolicy Fast = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30));

    /// <summary>Back-off before retry <paramref name="retry"/> (1-based): exponential, about 1.5x per attempt as daprd's, capped.</summary>
    public TimeSpan Backoff(int retry)
    {
        var ms = Duration.TotalMilliseconds * Math.Pow(1.5, retry - 1);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxInterval.TotalMilliseconds));
    }
}

/// <summary>What every sidecar of a <see cref="SidecarCluster"/> shares.</summary>
public sealed class SidecarClusterOptions
{
    public List<SidecarComponent> Components { get; } =
    [
        new("statestore", "state.postgresql", "appid", "ETAG", "TRANSACTIONAL", "TTL"),
        new("featurestore", "state.postgresql", "name", "ETAG", "TRANSACTIONAL", "TTL"),
        new("modelstore", "state.postgresql", "name", "ETAG", "TRANSACTIONAL", "TTL"),
        new("pubsub", "pubsub.kafka", "none"),
        new("secretstore", "secretstores.local.file", "none"),
    ];

    /// <summary>Store JSON values as PostgreSQL's <c>jsonb</c> does: keys re-ordered, whitespace dropped (on by default).</summary>
    public bool ReserializeJson { get; set; } = true;

    public DeliveryPolicy Delivery { get; set; } = DeliveryPolicy.Fast;

    /// <summary><c>DAPR_API_TOKEN</c> the sidecars demand from apps; null for none.</summary>
    public string? ApiToken { get; set; }

    /// <summary><c>APP_API_TOKEN</c> the sidecars send to apps on every call.</summary>
    public string? AppApiToken { get; set; }

    public Dictionary<string, string> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>Behave as a daprd that predates the stable <c>BulkPublishEvent</c>: answer it <c>Unimplemented</c> (not a violation).</summary>
    public bool WithoutBulkPublish { get; set; }

    /// <summary>Keys a bulk get fails to read (the store's per-key error, as daprd reports it in the item's <c>error</c>).</summary>
    public HashSet<string> BulkGetFailures { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The shared side of a set of faithful sidecars: the state stores, the broker with its consumer groups, the secret
/// store, and every request a sidecar did not understand. Dispose it at the end of each test: it stops the sidecars and
/// throws <see cref="SidecarViolationException"/> when any sidecar saw a request it does not understand.
/// </summary>
public sealed class SidecarCluster : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly List<FaithfulSidecar> _sidecars = [];

    public SidecarCluster(SidecarClusterOptions? options = null)
    {
        Options = options ?? new SidecarClusterOptions();
        State = new SidecarStateStore(this);
        Broker = new SidecarBroker(this);
    }

    public SidecarClusterOptions Options { get; }
    public SidecarStateStore State { get; }
    public SidecarBroker Broker { get; }
    public IReadOnlyCollection<string> Violations => _violations.ToArray();

    internal void Violation(string what) => _violations.Enqueue(what);

    private readonly ConcurrentDictionary<string, int> _failNext = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    /// <summary>Answers the next <paramref name="count"/> calls of gRPC method <paramref name="method"/> (e.g. <c>SaveState</c>)
    /// with <c>Unavailable</c>, as a sidecar that is restarting would.</summary>
    public void FailNext(string method, int count) => _failNext[method] = count;

    /// <summary>How many calls of gRPC method <paramref name="method"/> the sidecars received (failed ones included).</summary>
    public int Calls(string method) => _calls.TryGetValue(method, out var n) ? n : 0;

    internal bool ShouldFail(string method)
    {
        _calls.AddOrUpdate(method, 1, (_, n) => n + 1);
        while (_failNext.TryGetValue(method, out var left) && left > 0)
            if (_failNext.TryUpdate(method, left - 1, left)) return true;
        return false;
    }

    /// <summary>The directory holding Platform.sln, above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("No Platform.sln above " + AppContext.BaseDirectory);
    }

    public SidecarComponent? Component(string name) => Options.Components.FirstOrDefault(c => c.Name == name);

    /// <summary>
    /// Starts a sidecar for <paramref name="appId"/> on free loopback ports. Point the app at its ports, start the app,
    /// then call <see cref="FaithfulSidecar.ConnectAppAsync"/>.
    /// </summary>
    public async Task<FaithfulSidecar> StartSidecarAsync(string appId)
    {
        var sidecar = new FaithfulSidecar(this, appId);
        await sidecar.StartAsync();
        lock (_sidecars) _sidecars.Add(sidecar);
        return sidecar;
    }

    private readonly ConcurrentDictionary<string, int> _nextReplica = new(StringComparer.Ordinal);

    /// <summary>
    /// Name resolution for service invocation: the next sidecar of <paramref name="appId"/>, round robin, among those whose
    /// app is connected and that have not stopped; null when there is none.
    /// </summary>
    internal FaithfulSidecar? Resolve(string appId)
    {
        FaithfulSidecar[] replicas;
        lock (_sidecars) replicas = _sidecars.Where(s => s.AppId == appId && s.AcceptsInvocations).ToArray();
        if (replicas.Length == 0) return null;
        var next = _nextReplica.AddOrUpdate(appId, 0, (_, n) => n + 1);
        return replicas[(next & int.MaxValue) % replicas.Length];
    }

    /// <summary>True when a sidecar of <paramref name="appId"/> was ever started (running or not).</summary>
    internal bool HasSidecar(string appId)
    {
        lock (_sidecars) return _sidecars.Any(s => s.AppId == appId);
    }

    /// <summary>Throws when any sidecar saw a request it did not understand.</summary>
    public void AssertNoViolations()
    {
        if (!_violations.IsEmpty)
            throw new SidecarViolationException("The faithful sidecar received requests it does not understand:\n  " + string.Join("\n  ", _violations));
    }

    /// <summary>Forgets the violations seen so far: only for a test that provokes one on purpose and has checked it.</summary>
    public void ClearViolations() => _violations.Clear();

    public async ValueTask DisposeAsync()
    {
        FaithfulSidecar[] sidecars;
        lock (_sidecars) sidecars = [.. _sidecars];
        foreach (var sidecar in sidecars) await sidecar.DisposeAsync();
        await Broker.DisposeAsync();
        AssertNoViolations();
    }
}

public sealed class SidecarViolationException(string message) : Exception(message);
