using System.Threading.Channels;
using Dapr.Workflow;
using Dapr.Workflow.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;
using static Platform.Workflows.OrchestrationContext;

namespace Platform.Workflows;

/// <summary>
/// Runs one leased instance: replays its history through the workflow's code, then runs the calls that have no
/// result yet and checkpoints each result before applying it. Every write is fenced by the lease; losing it stops
/// the executor without another write.
/// </summary>
internal sealed class InstanceExecutor
{
    private readonly WorkflowRunner _runner;
    private readonly LeasedRecord _leased;
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _stopping;
    private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly OrchestrationScheduler _scheduler;
    private OrchestrationContext? _context;
    private Task<object?>? _orchestration;
    private int _applied;
    private bool _terminateRequested;
    private string? _terminateOutput;
    private bool _done;
    private bool _backedOff;

    public InstanceExecutor(WorkflowRunner runner, LeasedRecord leased, CancellationToken stopping)
    {
        _runner = runner;
        _leased = leased;
        _stopping = stopping;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _scheduler = new OrchestrationScheduler(Wake);
    }

    public string InstanceId => Record.InstanceId;
    public Task Completion { get; set; } = Task.CompletedTask;
    private InstanceRecord Record => _leased.Record;
    private WorkflowRunnerOptions Options => _runner.Options;
    private WorkflowStore Store => _runner.Store;

    public void Wake() => _messages.Writer.TryWrite(Message.WakeUp);

    public void Stop() => _cts.Cancel();

    public async Task RunAsync()
    {
        var ct = _cts.Token;
        var lost = false;
        try
        {
            if (Record.Status.IsTerminal())
            {
                // Finished before a crash, but its end was not published yet: take the lease, then publish.
                await CheckpointAsync(WorkflowCheckpointKind.Progress);
                await PublishAndFinishAsync();
                return;
            }
            // The first write below takes the lease (ETag of the read that found it free); losing that race ends here.
            var entries = new List<HistoryEntry>();
            await PullInboxAsync(entries, ct);
            if (_terminateRequested)
            {
                await EndAsync(WorkflowRuntimeStatus.Terminated, _terminateOutput, null);
                return;
            }
            if (!Options.Registry.HasWorkflow(Record.Name))
            {
                // As Dapr's worker does with an orchestration it has no code for: the instance fails, it does not wait for ever.
                _runner.Logger.LogError("Workflow {InstanceId} is a '{Name}' (version {Version}), which this app no longer registers; failing it",
                    InstanceId, Record.Name, Record.Version);
                Record.History.AddRange(entries);
                await EndAsync(WorkflowRuntimeStatus.Failed, null, new WorkflowTaskFailureDetails("WorkflowNotFound",
                    $"Workflow '{Record.Name}' (version {Record.Version ?? "unrecorded"}) is not registered in this app: " +
                    "its definition was removed or renamed."));
                return;
            }
            if (Record.Status == WorkflowRuntimeStatus.Pending) Record.Status = WorkflowRuntimeStatus.Running;
            Record.History.AddRange(entries);
            await CheckpointAsync(WorkflowCheckpointKind.Started);

            IWorkflow workflow;
            object? input;
            try
            {
                if (!Options.Registry.TryCreateWorkflow(new TaskIdentifier(Record.Name), _runner.Services, out var created, out var error))
                    throw error ?? new InvalidOperationException($"Workflow '{Record.Name}' is not registered in this app.");
                workflow = created!;
                input = WorkflowJson.Deserialize(Record.Input, workflow.InputType);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await StartFailedAsync(ex);
                return;
            }
            Record.StartAttempts = 0;
            var context = _context = new OrchestrationContext(Record.Name, Record.InstanceId, Record.CreatedAt, Record.Patches, _runner.Loggers);
            // As Dapr: a new instance's first turn is not a replay (IsPatched takes the new path there).
            context.Replaying = Record.History.Count > 0;
            _scheduler.Run(() => _orchestration = workflow.RunAsync(context, input));
            ApplyHistory();
            context.Replaying = false;
            context.CustomStatusChanged = Record.CustomStatus != context.CustomStatus;
            // Looks at the inbox now and then: requests from other processes arrive only through state.
            await using var poll = new Timer(_ => Wake(), null, Options.PollInterval, Options.PollInterval);
            await LoopAsync(ct);
        }
        catch (NonDeterministicWorkflowException ex)
        {
            _runner.Logger.LogError(ex, "Workflow {InstanceId} is not deterministic; failing it", InstanceId);
            try
            {
                await EndAsync(WorkflowRuntimeStatus.Failed, null, Failures.From(ex));
            }
            catch (Exception inner)
            {
                lost = inner is LeaseLostException;
                _runner.Logger.LogError(inner, "Could not record the failure of workflow {InstanceId}", InstanceId);
            }
        }
        catch (LeaseLostException)
        {
            lost = true;
            _runner.Logger.LogInformation("Runner {RunnerId} lost (or lost the race for) the lease of workflow {InstanceId}; another runner has it", _runner.RunnerId, InstanceId);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // The store or the broker failed: leave the instance; its lease expires and a runner picks it up again.
            _runner.Logger.LogError(ex, "Workflow {InstanceId} stopped on an error; it resumes when its lease expires", InstanceId);
        }
        finally
        {
            _cts.Cancel();
            if (!_done && !lost && !_backedOff && _stopping.IsCancellationRequested) await ReleaseAsync();
        }
    }

    /// <summary>
    /// The workflow's code could not be started (its input does not deserialize, a dependency cannot be created). The
    /// attempt is checkpointed; after <see cref="WorkflowRunnerOptions.MaxStartAttempts"/> the instance is Failed,
    /// before that it is held off every runner for <see cref="WorkflowRunnerOptions.StartRetryDelay"/>.
    /// </summary>
    private async Task StartFailedAsync(Exception ex)
    {
        Record.StartAttempts++;
        var failure = Failures.From(ex);
        if (Record.StartAttempts >= Options.MaxStartAttempts)
        {
            _runner.Logger.LogError(ex, "Workflow {InstanceId} could not start after {Attempts} attempts; failing it", InstanceId, Record.StartAttempts);
            await EndAsync(WorkflowRuntimeStatus.Failed, null, new WorkflowTaskFailureDetails(failure.ErrorType,
                $"The workflow could not start after {Record.StartAttempts} attempts: {failure.ErrorMessage}", failure.StackTrace));
            return;
        }
        _runner.Logger.LogWarning("Workflow {InstanceId} could not start (attempt {Attempt} of {MaxAttempts}): {Error}; retrying in {Delay}",
            InstanceId, Record.StartAttempts, Options.MaxStartAttempts, ex.Message, Options.StartRetryDelay);
        await _write.WaitAsync(CancellationToken.None);
        try
        {
            await Store.WriteAsync(_leased, "start-backoff/" + _runner.RunnerId, Options.StartRetryDelay);
            _backedOff = true;
        }
        finally
        {
            _write.Release();
        }
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var context = _context!;
        while (true)
        {
            var suspended = Record.Status == WorkflowRuntimeStatus.Suspended;
            if (_orchestration!.IsCompleted && !suspended)
            {
                await CompleteAsync();
                return;
            }
            if (!suspended) StartCalls(context.TakeUnstarted(), ct);

            var pullInbox = false;
            await _messages.Reader.WaitToReadAsync(ct);

            var entries = new List<HistoryEntry>();
            var activities = false;
            var retries = false;
            while (_messages.Reader.TryRead(out var message))
            {
                switch (message)
                {
                    case Message.Wake:
                        pullInbox = true;
                        break;
                    case Message.Retrying retrying:
                        Record.Retries[retrying.TaskId] = retrying.State;
                        retries = true;
                        break;
                    case Message.Done done:
                        // A timer cancelled meanwhile (its event came first) is not recorded.
                        if (done.Entry.Kind == HistoryKind.TimerFired && !context.IsPending(done.Entry.TaskId)) break;
                        activities |= done.Entry.Kind is HistoryKind.ActivityCompleted or HistoryKind.ActivityFailed;
                        entries.Add(done.Entry);
                        break;
                }
            }
            var statusBefore = Record.Status;
            if (pullInbox) await PullInboxAsync(entries, ct);
            if (_terminateRequested)
            {
                await EndAsync(WorkflowRuntimeStatus.Terminated, _terminateOutput, null);
                return;
            }
            foreach (var entry in entries)
                if (entry.Kind is HistoryKind.ActivityCompleted or HistoryKind.ActivityFailed) Record.Retries.Remove(entry.TaskId);
            if (entries.Count > 0 || retries || Record.Status != statusBefore || context.CustomStatusChanged || context.PatchesChanged)
            {
                Record.History.AddRange(entries);
                await CheckpointAsync(activities ? WorkflowCheckpointKind.ActivityCompleted : WorkflowCheckpointKind.Progress);
            }
            ApplyHistory();
        }
    }

    /// <summary>Feeds the workflow every checkpointed entry it has not seen, in order.</summary>
    private void ApplyHistory()
    {
        var context = _context!;
        while (_applied < Record.History.Count && !_orchestration!.IsCompleted)
        {
            var entry = Record.History[_applied++];
            _scheduler.Run(() => context.Apply(entry));
        }
        _applied = Record.History.Count;
        _scheduler.Run(static () => { });
    }

    private void StartCalls(List<PendingTask> calls, CancellationToken ct)
    {
        foreach (var call in calls)
        {
            if (call.Kind == PendingKind.Activity)
            {
                var resumed = Record.Retries.GetValueOrDefault(call.Id);
                _ = Task.Run(() => RunActivityAsync(call, resumed, ct), CancellationToken.None);
            }
            else
                _ = Task.Run(() => RunTimerAsync(call, ct), CancellationToken.None);
        }
    }

    private async Task RunTimerAsync(PendingTask timer, CancellationToken ct)
    {
        try
        {
            // Timers may wake a little early (millisecond rounding): never record a timer as fired before its time.
            for (var delay = timer.FireAt - Store.Now; delay > TimeSpan.Zero; delay = timer.FireAt - Store.Now)
                await Task.Delay(delay + TimeSpan.FromMilliseconds(1), Store.Clock, ct);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        _messages.Writer.TryWrite(new Message.Done(new HistoryEntry(HistoryKind.TimerFired, timer.Id, timer.Name, Store.Now)));
    }

    /// <summary>Runs an activity call's attempts; <paramref name="resumed"/> is its checkpointed retry state after a restart.</summary>
    private async Task RunActivityAsync(PendingTask call, RetryState? resumed, CancellationToken ct)
    {
        var policy = call.Options?.RetryPolicy;
        var maxAttempts = policy?.MaxNumberOfAttempts ?? 1;
        var firstStart = resumed?.FirstStart ?? Store.Now;
        Exception? last = null;
        var attempt = (resumed?.Attempts ?? 0) + 1;
        if (resumed is not null && resumed.NextAttemptAt > Store.Now)
        {
            try
            {
                await Task.Delay(resumed.NextAttemptAt - Store.Now, Store.Clock, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        for (; ; attempt++)
        {
            try
            {
                var result = await RunAttemptAsync(call, attempt, ct);
                _messages.Writer.TryWrite(new Message.Done(new HistoryEntry(
                    HistoryKind.ActivityCompleted, call.Id, call.Name, Store.Now, call.Input, result, null, attempt)));
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                last = ex;
                _runner.Logger.LogWarning("Activity {Activity} of workflow {InstanceId} failed attempt {Attempt}/{MaxAttempts}: {Error}",
                    call.Name, InstanceId, attempt, maxAttempts, ex.Message);
            }
            if (policy is null || attempt >= maxAttempts) break;
            var delay = policy.DelayAfter(attempt);
            if (policy.RetryTimeout != Timeout.InfiniteTimeSpan && Store.Now + delay - firstStart > policy.RetryTimeout) break;
            // Checkpointed before the wait: a runner that takes over continues with the next attempt, not the first.
            _messages.Writer.TryWrite(new Message.Retrying(call.Id, new RetryState(attempt, firstStart, Store.Now + delay)));
            try
            {
                await Task.Delay(delay, Store.Clock, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        _messages.Writer.TryWrite(new Message.Done(new HistoryEntry(
            HistoryKind.ActivityFailed, call.Id, call.Name, Store.Now, call.Input, null, Failures.From(last!), attempt)));
    }

    private async Task<string?> RunAttemptAsync(PendingTask call, int attempt, CancellationToken ct)
    {
        await using var scope = _runner.Services.CreateAsyncScope();
        if (!Options.Registry.TryCreateActivity(new TaskIdentifier(call.Name), scope.ServiceProvider, out var activity, out var error))
        {
            // Dapr's worker reports these two as the activity's failure.
            throw error is null
                ? new ActivityNotFoundException($"Activity '{call.Name}' not found")
                : new InvalidOperationException($"Activity '{call.Name}' failed to activate: {error.Message}", error);
        }
        var input = WorkflowJson.Deserialize(call.Input, activity!.InputType);
        var result = await activity.RunAsync(new EmbeddedActivityContext(call.Name, InstanceId, call.Id, attempt, ct), input);
        return WorkflowJson.Serialize(result);
    }

    /// <summary>Applies inbox messages after the cursor: events become history entries; terminate, suspend and resume change the status.</summary>
    private async Task PullInboxAsync(List<HistoryEntry> entries, CancellationToken ct)
    {
        var (inbox, _) = await Store.ReadInboxAsync(InstanceId, ct);
        if (inbox is null) return;
        foreach (var message in inbox.Messages.Where(m => m.Seq > Record.InboxCursor).OrderBy(m => m.Seq))
        {
            Record.InboxCursor = message.Seq;
            switch (message.Kind)
            {
                case InboxKind.Event:
                    entries.Add(new HistoryEntry(HistoryKind.EventRaised, -1, message.Name, Store.Now, Result: message.Payload));
                    break;
                case InboxKind.Terminate:
                    _terminateRequested = true;
                    _terminateOutput = message.Payload;
                    return;
                case InboxKind.Suspend:
                    if (Record.Status is WorkflowRuntimeStatus.Running or WorkflowRuntimeStatus.Pending) Record.Status = WorkflowRuntimeStatus.Suspended;
                    break;
                case InboxKind.Resume:
                    if (Record.Status == WorkflowRuntimeStatus.Suspended) Record.Status = WorkflowRuntimeStatus.Running;
                    break;
            }
        }
    }

    private Task CompleteAsync()
    {
        var run = _orchestration!;
        if (run.IsCompletedSuccessfully)
            return EndAsync(WorkflowRuntimeStatus.Completed, WorkflowJson.Serialize(run.Result), null);
        Exception error = run.Exception?.InnerException ?? new TaskCanceledException("The workflow was cancelled.");
        // As Dapr's worker: the exception that left the workflow, not unwrapped (an activity's failure arrives as
        // WorkflowTaskFailedException, "Task failed: …").
        return EndAsync(WorkflowRuntimeStatus.Failed, null, Failures.Of(error));
    }

    private async Task EndAsync(WorkflowRuntimeStatus status, string? output, WorkflowTaskFailureDetails? failure)
    {
        Record.Status = status;
        Record.Output = output;
        Record.Failure = failure;
        Record.CompletedAt = Store.Now;
        _cts.Cancel();
        await CheckpointAsync(WorkflowCheckpointKind.Finished);
        WorkflowMetrics.RunEnded(Record.Name, status);
        await PublishAndFinishAsync();
    }

    private async Task PublishAndFinishAsync()
    {
        var r = Record;
        await _runner.Publisher.PublishAsync(
            new WorkflowStatusChanged(r.InstanceId, r.Name, r.Status, r.CompletedAt ?? r.LastUpdatedAt, r.Output, r.Failure), CancellationToken.None);
        await _write.WaitAsync(CancellationToken.None);
        try
        {
            await Store.FinishAsync(_leased);
            _done = true;
        }
        finally
        {
            _write.Release();
        }
        Notify(WorkflowCheckpointKind.Published);
    }

    private async Task CheckpointAsync(WorkflowCheckpointKind kind)
    {
        if (_context is { } context)
        {
            Record.CustomStatus = context.CustomStatus;
            context.CustomStatusChanged = false;
            context.PatchesChanged = false;
        }
        await _write.WaitAsync(CancellationToken.None);
        try
        {
            await Store.WriteAsync(_leased, _runner.RunnerId, Options.LeaseDuration);
        }
        finally
        {
            _write.Release();
        }
        Notify(kind);
    }

    private void Notify(WorkflowCheckpointKind kind)
    {
        Options.OnCheckpoint?.Invoke(new WorkflowCheckpoint(InstanceId, kind, Record.Progress().CompletedActivities, Record.Status));
        _runner.Signals.Changed(InstanceId, Record.Status, _leased.Written);
    }

    public async Task RenewIfDueAsync()
    {
        if (_done || _cts.IsCancellationRequested || Store.Now - _leased.LastWrite < Options.RenewInterval) return;
        await _write.WaitAsync(CancellationToken.None);
        try
        {
            if (_done || _cts.IsCancellationRequested) return;
            await Store.WriteAsync(_leased, _runner.RunnerId, Options.LeaseDuration);
        }
        catch (LeaseLostException)
        {
            _runner.Logger.LogWarning("Runner {RunnerId} could not renew the lease of workflow {InstanceId}; stopping it here", _runner.RunnerId, InstanceId);
            _cts.Cancel();
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>On shutdown, lets another runner take the instance at once instead of after the lease expires.</summary>
    private async Task ReleaseAsync()
    {
        await _write.WaitAsync(CancellationToken.None);
        try
        {
            await Store.WriteAsync(_leased, _runner.RunnerId, TimeSpan.Zero);
        }
        catch (Exception ex)
        {
            _runner.Logger.LogDebug(ex, "Could not release the lease of workflow {InstanceId}; it expires by itself", InstanceId);
        }
        finally
        {
            _write.Release();
        }
    }

    private sealed class ActivityNotFoundException(string message) : Exception(message);

    private abstract record Message
    {
        public static readonly Message WakeUp = new Wake();

        public sealed record Wake : Message;

        public sealed record Done(HistoryEntry Entry) : Message;

        public sealed record Retrying(int TaskId, RetryState State) : Message;
    }
}
