using Dapr.Workflow;
namespace Platform.Workflows.Tests;

public sealed record ChainInput(int Steps, long Start = 0, int StepDelayMs = 0, string? GateAtStep = null);

public sealed record DigitInput(int Step, long Value, int DelayMs = 0, string? Gate = null);

public sealed record FlakyInput(int FailTimes, int MaxAttempts, int FirstRetryMs = 10, double Backoff = 2.0, int RunMs = 0);

public sealed record WaitInput(string EventName, int TimeoutMs = 0);

public sealed record Approval(string By, bool Approved);

/// <summary>A chain of N activities: 0 becomes 123…N, one digit per step.</summary>
public sealed class ChainWorkflow : Workflow<ChainInput, long>
{
    public override async Task<long> RunAsync(WorkflowContext context, ChainInput input)
    {
        var value = input.Start;
        for (var step = 1; step <= input.Steps; step++)
        {
            var gate = input.GateAtStep is { } g ? $"{context.InstanceId}:{g}:{step}" : null;
            value = await context.CallActivityAsync<long>(nameof(AddDigit), new DigitInput(step, value, input.StepDelayMs, gate));
            context.SetCustomStatus(new { step });
        }
        return value;
    }
}

/// <summary>Appends its step as a digit; counts its runs; can hold on a gate the test opens.</summary>
public sealed class AddDigit(Effects effects) : WorkflowActivity<DigitInput, long>
{
    public override async Task<long> RunAsync(WorkflowActivityContext context, DigitInput input)
    {
        effects.Add(context.InstanceId, $"step{input.Step}:start");
        if (input.Gate is { } gate) await effects.Gate(gate).Task.WaitAsync(context.CancellationToken);
        if (input.DelayMs > 0) await Task.Delay(input.DelayMs, context.CancellationToken);
        effects.Add(context.InstanceId, $"step{input.Step}:done");
        return input.Value * 10 + input.Step;
    }
}

/// <summary>Calls <see cref="Flaky"/> with a retry policy (Dapr's: no per-attempt timeout).</summary>
public sealed class RetryWorkflow : Workflow<FlakyInput, string>
{
    public override Task<string> RunAsync(WorkflowContext context, FlakyInput input) =>
        context.CallActivityAsync<string>(nameof(Flaky), input, new WorkflowTaskOptions(
            new WorkflowRetryPolicy(input.MaxAttempts, TimeSpan.FromMilliseconds(input.FirstRetryMs), input.Backoff, TimeSpan.FromSeconds(1))));
}

/// <summary>As <see cref="RetryWorkflow"/>, but handles the final failure itself.</summary>
public sealed class CatchingWorkflow : Workflow<FlakyInput, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, FlakyInput input)
    {
        try
        {
            return await context.CallActivityAsync<string>(nameof(Flaky), input,
                new WorkflowTaskOptions(new WorkflowRetryPolicy(input.MaxAttempts, TimeSpan.FromMilliseconds(input.FirstRetryMs))));
        }
        catch (WorkflowTaskFailedException ex)
        {
            return "handled " + ex.FailureDetails.ErrorType + ": " + ex.FailureDetails.ErrorMessage;
        }
    }
}

/// <summary>Fails its first <c>FailTimes</c> attempts (counted per instance, since Dapr's context has no attempt number).</summary>
public sealed class Flaky(Effects effects) : WorkflowActivity<FlakyInput, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, FlakyInput input)
    {
        effects.Add(context.InstanceId, "attempt");
        var attempt = effects.Count(context.InstanceId, "attempt");
        if (attempt <= input.FailTimes) throw new InvalidOperationException($"boom {attempt}");
        if (input.RunMs > 0) await Task.Delay(input.RunMs, context.CancellationToken);
        return $"ok after {attempt}";
    }
}

/// <summary>Waits for an external event, with or without a timeout.</summary>
public sealed class ApprovalWorkflow : Workflow<WaitInput, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, WaitInput input)
    {
        context.SetCustomStatus("waiting");
        try
        {
            var approval = input.TimeoutMs > 0
                ? await context.WaitForExternalEventAsync<Approval>(input.EventName, TimeSpan.FromMilliseconds(input.TimeoutMs))
                : await context.WaitForExternalEventAsync<Approval>(input.EventName);
            return approval.Approved ? "approved by " + approval.By : "rejected by " + approval.By;
        }
        catch (TaskCanceledException)
        {
            return "timed out";
        }
    }
}

/// <summary>Two events in a row, to check buffering and order.</summary>
public sealed class TwoEventsWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input)
    {
        var first = await context.WaitForExternalEventAsync<string>("note");
        var second = await context.WaitForExternalEventAsync<string>("note");
        return first + "," + second;
    }
}

/// <summary>A durable timer between two activities.</summary>
public sealed class TimerWorkflow : Workflow<int, long>
{
    public override async Task<long> RunAsync(WorkflowContext context, int delayMs)
    {
        var before = await context.CallActivityAsync<long>(nameof(AddDigit), new DigitInput(1, 0));
        await context.CreateTimer(TimeSpan.FromMilliseconds(delayMs));
        return await context.CallActivityAsync<long>(nameof(AddDigit), new DigitInput(2, before));
    }
}

/// <summary>A small graph: three activities in parallel, then one on their results.</summary>
public sealed class FanOutWorkflow : Workflow<int, long>
{
    public override async Task<long> RunAsync(WorkflowContext context, int delayMs)
    {
        var branches = Enumerable.Range(1, 3)
            .Select(i => context.CallActivityAsync<long>(nameof(AddDigit), new DigitInput(i, 0, delayMs * (4 - i))))
            .ToArray();
        var results = await Task.WhenAll(branches);
        return await context.CallActivityAsync<long>(nameof(AddDigit), new DigitInput(4, results.Sum()));
    }
}

public static class TestWorkflows
{
    public static void Register(WorkflowRuntimeOptions o)
    {
        o.RegisterWorkflow<ChainWorkflow>();
        o.RegisterWorkflow<RetryWorkflow>();
        o.RegisterWorkflow<CatchingWorkflow>();
        o.RegisterWorkflow<ApprovalWorkflow>();
        o.RegisterWorkflow<TwoEventsWorkflow>();
        o.RegisterWorkflow<TimerWorkflow>();
        o.RegisterWorkflow<FanOutWorkflow>();
        o.RegisterActivity<AddDigit>();
        o.RegisterActivity<Flaky>();
    }
}
