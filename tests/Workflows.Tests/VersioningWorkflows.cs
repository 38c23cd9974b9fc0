using Dapr.Workflow;
namespace Platform.Workflows.Tests;

public sealed record EchoInput(string Text, bool Gated = false);

/// <summary>Returns its text; counts its runs; a gated call waits for the test to open "{instance}:{text}".</summary>
public sealed class Echo(Effects effects) : WorkflowActivity<EchoInput, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, EchoInput input)
    {
        effects.Add(context.InstanceId, "echo:" + input.Text + ":start");
        if (input.Gated) await effects.Gate($"{context.InstanceId}:{input.Text}").Task.WaitAsync(context.CancellationToken);
        effects.Add(context.InstanceId, "echo:" + input.Text);
        return input.Text;
    }
}

/// <summary>Version 1 of "Patched": two steps; the second waits on a gate when the input asks for it.</summary>
public sealed class PatchedV1 : Workflow<bool, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, bool gateSecond)
    {
        var a = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("a"));
        var b = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("b", gateSecond));
        return a + b;
    }
}

/// <summary>Version 2 of "Patched": an extra step between the two, behind <see cref="WorkflowContext.IsPatched"/>.</summary>
public sealed class PatchedV2 : Workflow<bool, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, bool gateSecond)
    {
        var a = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("a"));
        if (context.IsPatched("extra-step")) a += await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("x"));
        var b = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("b", gateSecond));
        return a + b;
    }
}

/// <summary>Version 2 changed without a patch: the timer after the first step became an activity.</summary>
public sealed class TimerThenEchoV1 : Workflow<int, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, int delayMs)
    {
        var a = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("a"));
        await context.CreateTimer(TimeSpan.FromMilliseconds(delayMs));
        return a + await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("b", Gated: true));
    }
}

public sealed class TimerThenEchoV2 : Workflow<int, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, int delayMs)
    {
        var a = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("a"));
        var t = await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("t"));
        return a + t + await context.CallActivityAsync<string>(nameof(Echo), new EchoInput("b"));
    }
}

/// <summary>Needs a service nobody registers: the runner cannot create it (Dapr's analyzer rightly flags a workflow with dependencies).</summary>
#pragma warning disable DAPR1305
public sealed class NeedsMissingService(NeedsMissingService.IMissing missing) : Workflow<int, string>
{
    public interface IMissing;

    public override Task<string> RunAsync(WorkflowContext context, int input) => Task.FromResult(missing.ToString()!);
}
#pragma warning restore DAPR1305
