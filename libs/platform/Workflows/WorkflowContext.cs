using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Dapr.Workflow;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Workflows;

/// <summary>
/// The embedded runner's implementation of Dapr's <see cref="WorkflowContext"/> for one execution. Every call is
/// recorded or replayed: after a restart the workflow runs again from the top and the calls whose results are in the
/// history complete at once (<see cref="IsReplaying"/> is true until the history is used up). It is driven from one
/// thread at a time by <see cref="OrchestrationScheduler"/>: checkpointed results are applied in history order, which
/// replays the workflow's code along the path it took. Not supported here (they throw <see cref="NotSupportedException"/>):
/// child workflows, detached workflows, <see cref="SendEvent"/>, <see cref="ContinueAsNew"/>, activities on another app (<c>TargetAppId</c>).
/// </summary>
internal sealed class OrchestrationContext(string name, string instanceId, DateTimeOffset start, List<string> patches, ILoggerFactory? loggers = null)
    : WorkflowContext
{
    private readonly Dictionary<string, bool> _patchDecisions = new(StringComparer.Ordinal);
    private readonly Dictionary<int, PendingTask> _pending = [];
    private readonly List<PendingTask> _unstarted = [];
    private readonly List<EventWaiter> _waiters = [];
    private readonly List<(string Name, string? Payload)> _buffered = [];
    private int _nextId;
    private int _guids;
    private DateTimeOffset _now = start;

    public override string Name { get; } = name;
    public override string InstanceId { get; } = instanceId;
    public override DateTime CurrentUtcDateTime => _now.UtcDateTime;
    public override bool IsReplaying => Replaying;

    internal bool Replaying { get; set; } = true;
    internal string? CustomStatus { get; private set; }
    internal bool CustomStatusChanged { get; set; }
    internal bool PatchesChanged { get; set; }

    public override bool IsPatched(string patchName)
    {
        ArgumentException.ThrowIfNullOrEmpty(patchName);
        if (_patchDecisions.TryGetValue(patchName, out var decided)) return decided;
        var patched = patches.Contains(patchName) || !Replaying;
        if (patched && !patches.Contains(patchName))
        {
            patches.Add(patchName);
            PatchesChanged = true;
        }
        _patchDecisions[patchName] = patched;
        return patched;
    }

    public override async Task<T> CallActivityAsync<T>(string name, object? input = null, WorkflowTaskOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (options?.TargetAppId is { Length: > 0 } app)
            throw new NotSupportedException(
                $"The embedded workflow runner cannot call activities on another app ('{app}'); that needs Dapr's workflow engine.");
        var task = Add(new PendingTask(_nextId++, PendingKind.Activity, name) { Input = WorkflowJson.Serialize(input), Options = options });
        var json = await task.Completion.Task;
        return WorkflowJson.Deserialize<T>(json)!;
    }

    public override Task CreateTimer(DateTime fireAt, CancellationToken cancellationToken)
    {
        var timer = Add(new PendingTask(_nextId++, PendingKind.Timer, "timer") { FireAt = new DateTimeOffset(DateTime.SpecifyKind(fireAt, DateTimeKind.Utc)) });
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                _pending.Remove(timer.Id);
                timer.Completion.TrySetCanceled(cancellationToken);
            });
        }
        return timer.Completion.Task;
    }

    public override Task<T> WaitForExternalEventAsync<T>(string eventName, CancellationToken cancellationToken = default) =>
        WaitAsync<T>(eventName, null, cancellationToken);

    /// <summary>As Dapr: a zero timeout cancels at once, a negative one waits without a timer.</summary>
    public override Task<T> WaitForExternalEventAsync<T>(string eventName, TimeSpan timeout) =>
        timeout == TimeSpan.Zero
            ? Task.FromException<T>(new TaskCanceledException($"WaitForExternalEvent '{eventName}' timed out immediately (zero timeout)."))
            : WaitAsync<T>(eventName, timeout < TimeSpan.Zero ? null : timeout, default);

    public override void SendEvent(string instanceId, string eventName, object payload) =>
        throw new NotSupportedException("The embedded workflow runner does not support SendEvent from a workflow; " +
                                        "raise the event through the WorkflowClient from an activity, or use Dapr's workflow engine.");

    public override Task<TResult> CallChildWorkflowAsync<TResult>(string workflowName, object? input = null, ChildWorkflowTaskOptions? options = null) =>
        throw new NotSupportedException($"The embedded workflow runner does not support child workflows ('{workflowName}'); " +
                                        "schedule it from an activity, or use Dapr's workflow engine.");

    public override void ContinueAsNew(object? newInput = null, bool preserveUnprocessedEvents = true) =>
        throw new NotSupportedException("The embedded workflow runner does not support ContinueAsNew; schedule a new instance, or use Dapr's workflow engine.");

    public override Task<string> ScheduleNewDetachedWorkflowAsync(string workflowName, string? instanceId = null, object? input = null,
        DateTimeOffset? startTime = null) =>
        throw new NotSupportedException($"The embedded workflow runner does not schedule workflows from a workflow ('{workflowName}'); " +
                                        "schedule it from an activity through the WorkflowClient, or use Dapr's workflow engine.");

    public override Task<string> ScheduleNewDetachedWorkflowAsync(string workflowName, string? instanceId, object? input, DateTimeOffset? startTime,
        WorkflowTaskOptions options) => ScheduleNewDetachedWorkflowAsync(workflowName, instanceId, input, startTime);

    /// <summary>History propagation needs Dapr's engine; the embedded runner propagates none.</summary>
    public override PropagatedHistory? GetPropagatedHistory() => null;

    public override ILogger CreateReplaySafeLogger(string categoryName) =>
        new ReplaySafeLogger(this, (loggers ?? NullLoggerFactory.Instance).CreateLogger(categoryName));

    public override ILogger CreateReplaySafeLogger(Type type) =>
        new ReplaySafeLogger(this, (loggers ?? NullLoggerFactory.Instance).CreateLogger(type));

    public override ILogger CreateReplaySafeLogger<T>() => CreateReplaySafeLogger(typeof(T));

    /// <summary>Logs only when the workflow is not replaying, so a replayed step does not log twice.</summary>
    private sealed class ReplaySafeLogger(WorkflowContext context, ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => !context.IsReplaying && inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!context.IsReplaying) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }

    private async Task<T> WaitAsync<T>(string eventName, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        var waiter = new EventWaiter(eventName);
        if (timeout is { } t)
        {
            waiter.Timer = Add(new PendingTask(_nextId++, PendingKind.Timer, "timeout:" + eventName) { FireAt = _now + t, TimeoutOf = waiter });
        }
        var buffered = _buffered.FindIndex(e => Matches(e.Name, eventName));
        if (buffered >= 0)
        {
            var payload = _buffered[buffered].Payload;
            _buffered.RemoveAt(buffered);
            CancelTimeout(waiter);
            return WorkflowJson.Deserialize<T>(payload)!;
        }
        _waiters.Add(waiter);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                _waiters.Remove(waiter);
                CancelTimeout(waiter);
                waiter.Completion.TrySetCanceled(cancellationToken);
            });
        }
        var json = await waiter.Completion.Task;
        return WorkflowJson.Deserialize<T>(json)!;
    }

    public override void SetCustomStatus(object? customStatus)
    {
        var json = WorkflowJson.Serialize(customStatus);
        if (json == CustomStatus) return;
        CustomStatus = json;
        CustomStatusChanged = true;
    }

    public override Guid NewGuid()
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{InstanceId}:{_guids++}"));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    internal void RestoreCustomStatus(string? json) => CustomStatus = json;

    /// <summary>Calls made since the last look that need live work (activities to run, timers to wait for).</summary>
    internal List<PendingTask> TakeUnstarted()
    {
        var list = _unstarted.Where(t => _pending.ContainsKey(t.Id)).ToList();
        _unstarted.Clear();
        return list;
    }

    internal bool IsPending(int id) => _pending.ContainsKey(id);

    /// <summary>Feeds one checkpointed fact to the code waiting for it. Throws <see cref="NonDeterministicWorkflowException"/> on a mismatch.</summary>
    internal void Apply(HistoryEntry entry)
    {
        _now = entry.At;
        switch (entry.Kind)
        {
            case HistoryKind.ActivityCompleted or HistoryKind.ActivityFailed:
                if (!_pending.Remove(entry.TaskId, out var task) || task.Kind != PendingKind.Activity || task.Name != entry.Name)
                {
                    throw new NonDeterministicWorkflowException(
                        $"History has activity '{entry.Name}' as call #{entry.TaskId}, but on replay the workflow " +
                        (task is null ? "made no such call." : $"called '{task.Name}' ({task.Kind}) there."));
                }
                if (entry.Kind == HistoryKind.ActivityCompleted)
                    task.Completion.TrySetResult(entry.Result);
                else
                    // Dapr's message and details for a failed task.
                    task.Completion.TrySetException(new WorkflowTaskFailedException(
                        $"Task failed: {entry.Failure?.ErrorMessage ?? "Unknown error"}",
                        entry.Failure ?? new WorkflowTaskFailureDetails("Exception", "Unknown error")));
                break;
            case HistoryKind.TimerFired:
                // A timer may have been cancelled (its event came first) after it fired in the same batch: nothing waits for it.
                if (!_pending.TryGetValue(entry.TaskId, out var timer)) break;
                if (timer.Kind != PendingKind.Timer)
                {
                    throw new NonDeterministicWorkflowException(
                        $"History has a timer as call #{entry.TaskId}, but on replay the workflow called '{timer.Name}' ({timer.Kind}) there.");
                }
                _pending.Remove(entry.TaskId);
                if (timer.TimeoutOf is { } waiter)
                {
                    if (_waiters.Remove(waiter))
                        waiter.Completion.TrySetException(new TaskCanceledException($"No '{waiter.Name}' event within the timeout."));
                }
                else
                {
                    timer.Completion.TrySetResult(null);
                }
                break;
            case HistoryKind.EventRaised:
                var index = _waiters.FindIndex(w => Matches(w.Name, entry.Name!));
                if (index < 0)
                {
                    _buffered.Add((entry.Name!, entry.Result));
                    break;
                }
                var w = _waiters[index];
                _waiters.RemoveAt(index);
                CancelTimeout(w);
                w.Completion.TrySetResult(entry.Result);
                break;
        }
    }

    private void CancelTimeout(EventWaiter waiter)
    {
        if (waiter.Timer is { } timer) _pending.Remove(timer.Id);
    }

    private PendingTask Add(PendingTask task)
    {
        _pending.Add(task.Id, task);
        _unstarted.Add(task);
        return task;
    }

    private static bool Matches(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    internal enum PendingKind { Activity, Timer }

    internal sealed class PendingTask(int id, PendingKind kind, string name)
    {
        public int Id { get; } = id;
        public PendingKind Kind { get; } = kind;
        public string Name { get; } = name;
        public string? Input { get; init; }
        public WorkflowTaskOptions? Options { get; init; }
        public DateTimeOffset FireAt { get; init; }
        public EventWaiter? TimeoutOf { get; init; }
        // Continuations run inline on the scheduler's thread, which is what makes replay deterministic.
        public TaskCompletionSource<string?> Completion { get; } = new();
    }

    internal sealed class EventWaiter(string name)
    {
        public string Name { get; } = name;
        public PendingTask? Timer { get; set; }
        public TaskCompletionSource<string?> Completion { get; } = new();
    }
}

/// <summary>
/// Runs a workflow's code on the caller's thread, one continuation at a time: its awaits capture this context,
/// so nothing in it runs concurrently and continuations run in the order results are applied.
/// </summary>
internal sealed class OrchestrationScheduler(Action wake) : SynchronizationContext
{
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _queue = new();
    private int _running;

    public override void Post(SendOrPostCallback d, object? state)
    {
        _queue.Enqueue((d, state));
        // Only an await on something other than the context's tasks posts from outside a Run.
        if (Volatile.Read(ref _running) == 0) wake();
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Workflow code cannot block on its scheduler.");

    public override SynchronizationContext CreateCopy() => this;

    public void Run(Action action)
    {
        var previous = Current;
        SetSynchronizationContext(this);
        Volatile.Write(ref _running, 1);
        try
        {
            action();
            while (_queue.TryDequeue(out var work)) work.Callback(work.State);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
            SetSynchronizationContext(previous);
        }
    }
}
