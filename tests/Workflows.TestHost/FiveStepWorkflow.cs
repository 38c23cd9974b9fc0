using Dapr.Workflow;
using Platform.BuildingBlocks.State;
using Platform.Workflows;

namespace Platform.Workflows.TestHost;

public sealed record FiveStepInput(long Value);

public sealed record StepInput(int Step, long Value);

/// <summary>Five chained activities: 0 becomes 12345, one digit per step.</summary>
public sealed class FiveStepWorkflow : Workflow<FiveStepInput, long>
{
    public override async Task<long> RunAsync(WorkflowContext context, FiveStepInput input)
    {
        var value = input.Value;
        for (var step = 1; step <= 5; step++)
        {
            value = await context.CallActivityAsync<long>(nameof(Step), new StepInput(step, value));
            context.SetCustomStatus(new { step });
        }
        return value;
    }
}

/// <summary>Records a start and a done file per run, so the test can count how often each step ran.</summary>
public sealed class Step(EffectFiles effects, HaltPoint halt, HostArgs args) : WorkflowActivity<StepInput, long>
{
    public override async Task<long> RunAsync(WorkflowActivityContext context, StepInput input)
    {
        effects.Record(context.InstanceId, input.Step, "start");
        halt.Inside(input.Step);
        if (args.StepDelayMs > 0) await Task.Delay(args.StepDelayMs, context.CancellationToken);
        effects.Record(context.InstanceId, input.Step, "done");
        return input.Value * 10 + input.Step;
    }
}

/// <summary>One empty file per event: unique names, so concurrent processes never contend on a file.</summary>
public sealed class EffectFiles(string dir)
{
    public void Record(string instanceId, int step, string what)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"{instanceId}.{step}.{what}.{Environment.ProcessId}.{Guid.NewGuid():N}"), []);
    }
}

/// <summary>Announces a point on stdout and hangs there, so the parent can SIGKILL the process exactly at it.</summary>
public sealed class HaltPoint(string? point)
{
    public void OnCheckpoint(WorkflowCheckpoint c)
    {
        var here = c.Kind switch
        {
            WorkflowCheckpointKind.Started => "started",
            WorkflowCheckpointKind.ActivityCompleted => $"after-{c.CompletedActivities}",
            WorkflowCheckpointKind.Finished => "finished",
            _ => null,
        };
        if (here is not null && here == point) Hang(here);
    }

    public void Inside(int step)
    {
        if (point == $"inside-{step}") Hang(point);
    }

    private static void Hang(string here)
    {
        Console.WriteLine($"HALTED {here}");
        Console.Out.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}

public sealed class SingleStoreProvider(IStateStore store) : IStateStoreProvider
{
    public IStateStore Get(string componentName) => store;
}

public sealed record HostArgs(string DataDir, IReadOnlyList<string> Instances, string? HaltAt, int StepDelayMs, int MaxConcurrent)
{
    public static HostArgs Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }
        var data = Value("--data") ?? throw new ArgumentException("--data DIR is required.");
        var instances = (Value("--instances") ?? throw new ArgumentException("--instances ID[,ID...] is required."))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var delay = int.Parse(Value("--step-delay-ms") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        var max = int.Parse(Value("--max-concurrent") ?? "100", System.Globalization.CultureInfo.InvariantCulture);
        return new HostArgs(data, instances, Value("--halt-at"), delay, max);
    }
}
