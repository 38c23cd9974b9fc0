using Platform.Contracts;

namespace Platform.Workflows;

/// <summary>
/// The embedded runner's settings (configuration section <c>Workflows</c> binds them). Workflows and activities are
/// registered on Dapr's <see cref="Dapr.Workflow.WorkflowRuntimeOptions"/>, which both engines read.
/// </summary>
public sealed class WorkflowRunnerOptions
{
    /// <summary>The state component holding checkpoints, inboxes, leases and the index: the app's private store.</summary>
    public string StateStoreName { get; set; } = Components.StateStore;

    /// <summary>How long a runner owns an instance without renewing; a killed runner's instances move on after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often held leases are renewed (every checkpoint renews too). Keep it well under <see cref="LeaseDuration"/>.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the index is scanned for instances to run and running instances look at their inbox (events from other processes).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Instances one runner executes at a time; further ones wait in the index for a free slot or another replica.</summary>
    public int MaxConcurrentInstances { get; set; } = 100;

    /// <summary>Called after each checkpoint is durable, on the runner's thread (metrics, diagnostics, tests).</summary>
    public Action<WorkflowCheckpoint>? OnCheckpoint { get; set; }

    /// <summary>
    /// Attempts to start an instance's code (create the workflow, read its input) before it is marked Failed: such errors
    /// (input that does not deserialize, a dependency missing) rarely heal, but a deployment may fix them.
    /// </summary>
    public int MaxStartAttempts { get; set; } = 3;

    /// <summary>
    /// How long an instance of a workflow this app does not register is left for a replica that does. During a rolling
    /// deployment old and new replicas share the store: an old replica must not fail an instance the new code started.
    /// Past this period with no write, the instance is taken and marked Failed (its definition was removed or renamed).
    /// </summary>
    public TimeSpan UnregisteredGracePeriod { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Wait between failed start attempts; the attempt count is checkpointed, so a restart does not reset it.</summary>
    public TimeSpan StartRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The version new instances of a workflow record (by registered name, case-insensitive; "1" when not listed).
    /// Change code that running instances may replay with <c>IsPatched</c>; an instance whose name is no longer
    /// registered is marked Failed after <see cref="UnregisteredGracePeriod"/>.
    /// </summary>
    public Dictionary<string, string> Versions { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Workflows and activities, read from Dapr's <see cref="Dapr.Workflow.WorkflowRuntimeOptions"/> registrations.</summary>
    public WorkflowRegistry Registry { get; internal set; } = new();

    /// <summary>The registered version of workflow <paramref name="name"/>, null when it is not registered.</summary>
    public string? VersionOf(string name) => Registry.HasWorkflow(name) ? Versions.GetValueOrDefault(name) ?? "1" : null;

    internal void Validate()
    {
        if (LeaseDuration <= TimeSpan.Zero) throw new ArgumentException("Workflows:LeaseDuration must be positive.");
        if (RenewInterval <= TimeSpan.Zero || RenewInterval >= LeaseDuration)
            throw new ArgumentException($"Workflows:RenewInterval ({RenewInterval}) must be positive and shorter than LeaseDuration ({LeaseDuration}).");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentException("Workflows:PollInterval must be positive.");
        if (MaxConcurrentInstances < 1) throw new ArgumentException("Workflows:MaxConcurrentInstances must be at least 1.");
        if (MaxStartAttempts < 1) throw new ArgumentException("Workflows:MaxStartAttempts must be at least 1.");
        if (StartRetryDelay <= TimeSpan.Zero) throw new ArgumentException("Workflows:StartRetryDelay must be positive.");
    }
}

public enum WorkflowCheckpointKind
{
    /// <summary>A runner took the lease and recorded the instance as running (also after a takeover).</summary>
    Started,
    /// <summary>An activity's result (or final failure) was recorded.</summary>
    ActivityCompleted,
    /// <summary>Anything else recorded while running: a timer, an external event, suspend/resume, custom status.</summary>
    Progress,
    /// <summary>The terminal status was recorded; the event is not yet published.</summary>
    Finished,
    /// <summary>The terminal event was published and the instance left the index.</summary>
    Published,
}

public sealed record WorkflowCheckpoint(string InstanceId, WorkflowCheckpointKind Kind, int CompletedActivities, WorkflowRuntimeStatus Status);
