namespace Platform.Workflows;

/// <summary>
/// What the services need from a workflow engine, with Dapr's <c>DaprWorkflowClient</c> names. Two adapters: the embedded
/// runner's <see cref="WorkflowClient"/> and <see cref="DaprEngineWorkflowClient"/> on Dapr's workflow engine. Both answer
/// the same way: instance ids are business keys (starting an id that exists returns it and starts nothing), an id the
/// engines would refuse is an <see cref="ArgumentException"/>, an unknown id is a state whose <see cref="WorkflowState.Exists"/>
/// is false.
/// </summary>
public interface IWorkflowClient
{
    /// <summary>The engine that runs the instances: <c>embedded</c> or <c>dapr</c>.</summary>
    string Engine { get; }

    /// <summary>Schedules <paramref name="name"/> as <paramref name="instanceId"/> unless that id exists; returns the id.</summary>
    Task<string> ScheduleNewWorkflowAsync(string name, string? instanceId = null, object? input = null, CancellationToken cancellation = default);

    /// <summary>The instance's state (status, input, output, custom status, failure); <see cref="WorkflowState.Exists"/> false for an unknown id.</summary>
    Task<WorkflowState> GetWorkflowStateAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default);

    /// <summary>Waits until the instance is Completed, Failed or Terminated; <see cref="WorkflowInstanceNotFoundException"/> for an unknown id.</summary>
    Task<WorkflowState> WaitForWorkflowCompletionAsync(string instanceId, bool getInputsAndOutputs = true, CancellationToken cancellation = default);

    /// <summary>Delivers an event to the instance (buffered until it waits for that name).</summary>
    Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default);

    /// <summary>Ends the instance as Terminated with <paramref name="output"/>.</summary>
    Task TerminateWorkflowAsync(string instanceId, object? output = null, CancellationToken cancellation = default);

    /// <summary>Deletes a finished instance, freeing its id; false when it has not finished or does not exist.</summary>
    Task<bool> PurgeInstanceAsync(string instanceId, CancellationToken cancellation = default);
}
