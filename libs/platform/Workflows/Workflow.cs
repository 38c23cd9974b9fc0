using System.Collections.Concurrent;
using System.Text.Json;
using Dapr.Workflow;
using Dapr.Workflow.Abstractions;
using Dapr.Workflow.Worker;
using Microsoft.Extensions.DependencyInjection;
using Platform.BuildingBlocks.State;

namespace Platform.Workflows;

// Workflows and activities are Dapr's: Dapr.Workflow.Workflow<TIn,TOut> and WorkflowActivity<TIn,TOut>, registered on
// Dapr's WorkflowRuntimeOptions. Under a sidecar Dapr's worker runs them (AddDaprWorkflow); in embedded mode this
// project's runner does, through its own WorkflowContext and WorkflowActivityContext subclasses.

/// <summary>
/// What the embedded runner gives an activity: Dapr's context plus the attempt number and a token that fires on
/// terminate and on shutdown. Under Dapr's worker neither exists; read them through
/// <see cref="WorkflowActivityContextExtensions"/>, which fall back to neutral values there.
/// </summary>
public sealed class EmbeddedActivityContext(string name, string instanceId, int taskId, int attempt, CancellationToken cancellationToken)
    : WorkflowActivityContext
{
    public override TaskIdentifier Identifier { get; } = new(name);
    public override string InstanceId { get; } = instanceId;
    /// <summary>Stable for one call of the workflow, across its retries (as Dapr's task execution id is).</summary>
    public override string TaskExecutionKey { get; } = $"{instanceId}:{taskId}";
    public int TaskId { get; } = taskId;
    public int Attempt { get; } = attempt;
    public CancellationToken CancellationToken { get; } = cancellationToken;
}

public static class WorkflowActivityContextExtensions
{
    extension(WorkflowActivityContext context)
    {
        /// <summary>
        /// On the embedded runner: fires on terminate and on shutdown. Dapr's worker gives activities no token, so under a
        /// sidecar this is <see cref="CancellationToken.None"/>.
        /// </summary>
        public CancellationToken CancellationToken => context is EmbeddedActivityContext e ? e.CancellationToken : CancellationToken.None;

        /// <summary>The activity's registered name.</summary>
        public string Name => context.Identifier.Name;
    }
}

/// <summary>
/// The embedded runner's registry: filled by Dapr's <see cref="WorkflowRuntimeOptions.ApplyRegistrations"/>, as Dapr's
/// own factory is. Names are case-insensitive and the first registration of a name wins, as in Dapr.
/// </summary>
public sealed class WorkflowRegistry : IWorkflowsFactory
{
    private readonly ConcurrentDictionary<string, Func<IServiceProvider, IWorkflow>> _workflows = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Func<IServiceProvider, IWorkflowActivity>> _activities = new(StringComparer.OrdinalIgnoreCase);

    public static WorkflowRegistry From(WorkflowRuntimeOptions options)
    {
        var registry = new WorkflowRegistry();
        options.ApplyRegistrations(registry);
        return registry;
    }

    public IEnumerable<string> Workflows => _workflows.Keys;
    public IEnumerable<string> Activities => _activities.Keys;
    public bool HasWorkflow(string name) => _workflows.ContainsKey(name);
    public bool HasActivity(string name) => _activities.ContainsKey(name);

    public void RegisterWorkflow<TWorkflow>(string? name = null) where TWorkflow : class, IWorkflow =>
        _workflows.TryAdd(name ?? typeof(TWorkflow).Name, sp => ActivatorUtilities.CreateInstance<TWorkflow>(sp));

    public void RegisterWorkflow<TInput, TOutput>(string name, Func<WorkflowContext, TInput, Task<TOutput>> implementation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(implementation);
        _workflows.TryAdd(name, _ => new FunctionWorkflow<TInput, TOutput>(implementation));
    }

    public void RegisterActivity<TActivity>(string? name = null) where TActivity : class, IWorkflowActivity =>
        _activities.TryAdd(name ?? typeof(TActivity).Name, sp => ActivatorUtilities.CreateInstance<TActivity>(sp));

    public void RegisterActivity<TInput, TOutput>(string name, Func<WorkflowActivityContext, TInput, Task<TOutput>> implementation)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(implementation);
        _activities.TryAdd(name, _ => new FunctionActivity<TInput, TOutput>(implementation));
    }

    public bool TryCreateWorkflow(TaskIdentifier identifier, IServiceProvider serviceProvider, out IWorkflow? workflow, out Exception? activationException) =>
        TryCreate(_workflows, identifier, serviceProvider, out workflow, out activationException);

    public bool TryCreateActivity(TaskIdentifier identifier, IServiceProvider serviceProvider, out IWorkflowActivity? activity,
        out Exception? activationException) =>
        TryCreate(_activities, identifier, serviceProvider, out activity, out activationException);

    private static bool TryCreate<T>(ConcurrentDictionary<string, Func<IServiceProvider, T>> factories, TaskIdentifier identifier,
        IServiceProvider services, out T? created, out Exception? error) where T : class
    {
        created = null;
        error = null;
        if (!factories.TryGetValue(identifier.Name, out var factory)) return false;
        try
        {
            created = factory(services);
            return true;
        }
        catch (Exception ex)
        {
            error = ex;
            return false;
        }
    }

    private sealed class FunctionWorkflow<TInput, TOutput>(Func<WorkflowContext, TInput, Task<TOutput>> implementation) : IWorkflow
    {
        public Type InputType => typeof(TInput);
        public Type OutputType => typeof(TOutput);
        public async Task<object?> RunAsync(WorkflowContext context, object? input) => await implementation(context, (TInput)input!);
    }

    private sealed class FunctionActivity<TInput, TOutput>(Func<WorkflowActivityContext, TInput, Task<TOutput>> implementation) : IWorkflowActivity
    {
        public Type InputType => typeof(TInput);
        public Type OutputType => typeof(TOutput);
        public async Task<object?> RunAsync(WorkflowActivityContext context, object? input) => await implementation(context, (TInput)input!);
    }
}

internal static class RetryPolicies
{
    /// <summary>Dapr's backoff: the wait after failed attempt <paramref name="attempt"/> (1-based), capped at the maximum interval.</summary>
    public static TimeSpan DelayAfter(this WorkflowRetryPolicy policy, int attempt)
    {
        var ms = policy.FirstRetryInterval.TotalMilliseconds * Math.Pow(policy.BackoffCoefficient, attempt - 1);
        var max = (policy.MaxRetryInterval ?? TimeSpan.FromHours(1)).TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Min(ms, max));
    }
}

internal static class Failures
{
    /// <summary>Why a task or workflow failed, as Dapr reports it: the exception's full type name and message.</summary>
    public static WorkflowTaskFailureDetails From(Exception ex) =>
        ex is WorkflowTaskFailedException failed
            ? failed.FailureDetails
            : Of(ex);

    /// <summary>The exception itself, as Dapr's worker reports a workflow that threw.</summary>
    public static WorkflowTaskFailureDetails Of(Exception ex) => new(ex.GetType().FullName ?? ex.GetType().Name, ex.Message, ex.StackTrace);
}

/// <summary>The workflow's code did not take the same path on replay as when its history was recorded.</summary>
public sealed class NonDeterministicWorkflowException(string message) : Exception(message);

public sealed class WorkflowInstanceNotFoundException(string instanceId)
    : Exception($"No workflow instance '{instanceId}'.")
{
    public string InstanceId { get; } = instanceId;
}

internal static class WorkflowJson
{
    public static JsonSerializerOptions Options => StateStoreExtensions.Json;

    public static string? Serialize(object? value) =>
        value is null ? null : JsonSerializer.Serialize(value, value.GetType(), Options);

    public static object? Deserialize(string? json, Type type) =>
        json is null ? null : JsonSerializer.Deserialize(json, type, Options);

    public static T? Deserialize<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json, Options);
}
