using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.DaprSidecar.Testing;
using Dapr.Workflow;
using DaprWorkflowState = Dapr.Workflow.WorkflowState;
using DaprRuntimeStatus = Dapr.Workflow.WorkflowRuntimeStatus;

namespace Platform.Workflows.Tests;

/// <summary>An instance as either engine reports it: status, failure, and typed reads of output and custom status.</summary>
public abstract class EngineState
{
    public abstract bool Exists { get; }
    public abstract WorkflowRuntimeStatus Status { get; }
    public abstract string? FailureType { get; }
    public abstract string? FailureMessage { get; }
    public abstract T? Output<T>();
    public abstract T? CustomStatus<T>();
    public override string ToString() => $"{Status} {FailureType}: {FailureMessage}";
}

/// <summary>One workflow engine running the test workflows: the embedded runner, or Dapr's worker against a sidecar.</summary>
public interface IWorkflowEngine : IAsyncDisposable
{
    Effects Effects { get; }

    /// <summary>The engine's adapter of the services' workflow port.</summary>
    IWorkflowClient Port { get; }

    /// <summary>Events published with this CloudEvent id (duplicates included).</summary>
    int CountEvents(string eventId);

    Task StartAsync(Action<Dapr.Workflow.WorkflowRuntimeOptions> register);
    Task<string> ScheduleAsync(string workflow, string instanceId, object? input);
    Task<EngineState> GetStateAsync(string instanceId);
    Task RaiseEventAsync(string instanceId, string eventName, object? payload);
    Task TerminateAsync(string instanceId, object? output = null);
    Task SuspendAsync(string instanceId);
    Task ResumeAsync(string instanceId);

    /// <summary>Polls until <paramref name="condition"/> holds (both engines the same way), failing after <paramref name="seconds"/>.</summary>
    async Task<EngineState> WaitForAsync(string instanceId, Func<EngineState, bool> condition, int seconds = 20)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var state = await GetStateAsync(instanceId);
            if (condition(state)) return state;
            if (DateTime.UtcNow > until) throw new TimeoutException($"Workflow {instanceId} is still {state} after {seconds} s.");
            await Task.Delay(25);
        }
    }

    Task<EngineState> WaitForCompletionAsync(string instanceId, int seconds = 20) =>
        WaitForAsync(instanceId, s => s.Status is WorkflowRuntimeStatus.Completed or WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated, seconds);
}

/// <summary>The embedded runner on SQLite state (<see cref="TestRuntime"/>), through the project's <see cref="WorkflowClient"/>.</summary>
public sealed class EmbeddedEngine : IWorkflowEngine
{
    private readonly TestRuntime _runtime = new();
    private RunningRunner? _runner;

    public Effects Effects => _runtime.Effects;
    private WorkflowClient Client => _runner!.Client;
    public IWorkflowClient Port => Client;

    public int CountEvents(string eventId) => _runtime.CountEvents(eventId);

    public Task StartAsync(Action<Dapr.Workflow.WorkflowRuntimeOptions> register)
    {
        _runner = _runtime.StartRunner(register: register);
        return Task.CompletedTask;
    }

    public Task<string> ScheduleAsync(string workflow, string instanceId, object? input) => Client.ScheduleNewWorkflowAsync(workflow, instanceId, input);

    public async Task<EngineState> GetStateAsync(string instanceId) => new State(await Client.GetWorkflowStateAsync(instanceId));

    public Task RaiseEventAsync(string instanceId, string eventName, object? payload) => Client.RaiseEventAsync(instanceId, eventName, payload);
    public Task TerminateAsync(string instanceId, object? output = null) => Client.TerminateWorkflowAsync(instanceId, output);
    public Task SuspendAsync(string instanceId) => Client.SuspendWorkflowAsync(instanceId);
    public Task ResumeAsync(string instanceId) => Client.ResumeWorkflowAsync(instanceId);

    public ValueTask DisposeAsync() => _runtime.DisposeAsync();

    private sealed class State(WorkflowState state) : EngineState
    {
        public override bool Exists => state.Exists;
        public override WorkflowRuntimeStatus Status => state.RuntimeStatus;
        public override string? FailureType => state.FailureDetails?.ErrorType;
        public override string? FailureMessage => state.FailureDetails?.ErrorMessage;
        public override T? Output<T>() where T : default => state.ReadOutputAs<T>();
        public override T? CustomStatus<T>() where T : default => state.ReadCustomStatusAs<T>();
    }
}

/// <summary>
/// Dapr's workflow engine without daprd: Dapr.Workflow's worker (<c>AddDaprWorkflow</c>) and <c>DaprWorkflowClient</c> against
/// the in-memory DurableTask sidecar of Microsoft.DurableTask.InProcessTestHost, hosted here on Kestrel (HTTP/2) because the
/// package's own test host starts a worker of its own and the sidecar serves one work-item stream. An interceptor clears
/// <c>TaskExecutionId</c> in the worker's schedule-task actions (Dapr's protos put a string in field 5 where Microsoft's
/// sidecar expects a message) and the patch record of a response (field 6, the same clash).
/// </summary>
public sealed class DaprEngine : IWorkflowEngine
{
    private InMemoryWorkflowSidecar? _sidecar;
    private IHost? _worker;
    private Dapr.Workflow.DaprWorkflowClient? _client;
    private readonly RecordingPublisher _published = new();

    public Effects Effects { get; } = new();
    public IWorkflowClient Port { get; private set; } = null!;

    public int CountEvents(string eventId) => _published.Ids.Count(id => id == eventId);

    public async Task StartAsync(Action<Dapr.Workflow.WorkflowRuntimeOptions> register)
    {
        _sidecar = await InMemoryWorkflowSidecar.StartAsync();
        var worker = Host.CreateApplicationBuilder();
        _sidecar.Attach(worker);
        worker.Logging.SetMinimumLevel(LogLevel.Warning);
        worker.Services.AddSingleton(Effects);
        worker.Services.AddSingleton<Platform.BuildingBlocks.PubSub.IEventPublisher>(_published);
        worker.Services.AddDaprWorkflow(register);
        _worker = worker.Build();
        await _worker.StartAsync();
        _client = _worker.Services.GetRequiredService<Dapr.Workflow.DaprWorkflowClient>();
        var registrations = new Dapr.Workflow.WorkflowRuntimeOptions();
        register(registrations);
        Port = new DaprEngineWorkflowClient(_client, WorkflowRegistry.From(registrations));
    }

    /// <summary>The publisher Dapr's worker gives <c>PublishWorkflowStatusActivity</c>: it keeps the ids it was given.</summary>
    private sealed class RecordingPublisher : Platform.BuildingBlocks.PubSub.IEventPublisher
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _ids = new();
        public IEnumerable<string> Ids => _ids;

        public Task PublishAsync(Platform.BuildingBlocks.PubSub.OutgoingEvent e, CancellationToken ct = default)
        {
            _ids.Enqueue(e.Id);
            return Task.CompletedTask;
        }
    }

    public Task<string> ScheduleAsync(string workflow, string instanceId, object? input) =>
        _client!.ScheduleNewWorkflowAsync(workflow, instanceId, input);

    public async Task<EngineState> GetStateAsync(string instanceId) => new State(await _client!.GetWorkflowStateAsync(instanceId, true));

    public Task RaiseEventAsync(string instanceId, string eventName, object? payload) => _client!.RaiseEventAsync(instanceId, eventName, payload);
    public Task TerminateAsync(string instanceId, object? output = null) => _client!.TerminateWorkflowAsync(instanceId, output);
    public Task SuspendAsync(string instanceId) => _client!.SuspendWorkflowAsync(instanceId);
    public Task ResumeAsync(string instanceId) => _client!.ResumeWorkflowAsync(instanceId);

    public async ValueTask DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.StopAsync(TimeSpan.FromSeconds(5));
            _worker.Dispose();
        }
        if (_sidecar is not null) await _sidecar.DisposeAsync();
    }

    private sealed class State(DaprWorkflowState? state) : EngineState
    {
        public override bool Exists => state?.Exists == true;
        public override WorkflowRuntimeStatus Status => state?.RuntimeStatus switch
        {
            DaprRuntimeStatus.Pending => WorkflowRuntimeStatus.Pending,
            DaprRuntimeStatus.Running => WorkflowRuntimeStatus.Running,
            DaprRuntimeStatus.Suspended => WorkflowRuntimeStatus.Suspended,
            DaprRuntimeStatus.Completed => WorkflowRuntimeStatus.Completed,
            DaprRuntimeStatus.Failed => WorkflowRuntimeStatus.Failed,
            DaprRuntimeStatus.Terminated => WorkflowRuntimeStatus.Terminated,
            _ => WorkflowRuntimeStatus.Unknown,
        };
        public override string? FailureType => state?.FailureDetails?.ErrorType;
        public override string? FailureMessage => state?.FailureDetails?.ErrorMessage;
        public override T? Output<T>() where T : default => state is null ? default : state.ReadOutputAs<T>();
        public override T? CustomStatus<T>() where T : default => state is null ? default : state.ReadCustomStatusAs<T>();
    }
}
