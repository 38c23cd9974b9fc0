using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;
using Platform.Workflows;
using Platform.Workflows.TestHost;

// Usage: Platform.Workflows.TestHost --data DIR --instances ID[,ID...] [--halt-at POINT] [--step-delay-ms N] [--max-concurrent N]
//   Starts the listed instances of FiveStepWorkflow (idempotent), runs the runner until all of them have finished,
//   prints "DONE" and exits 0. With --halt-at it prints "HALTED <point>" when it reaches the point and hangs there,
//   for the caller to kill it: started | after-N (activity N checkpointed) | inside-N (activity N running) | finished.
var options = HostArgs.Parse(args);
var effects = new EffectFiles(Path.Combine(options.DataDir, "effects"));
var halt = new HaltPoint(options.HaltAt);

var services = new ServiceCollection();
services.AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
var stateFile = SqliteFile.Open(Path.Combine(options.DataDir, "state.db"), SqliteStateStore.Schema);
services.AddSingleton<IStateStoreProvider>(new SingleStoreProvider(new SqliteStateStore(stateFile, Components.StateStore, "wfhost")));
services.AddSingleton<IEventPublisher>(new EmbeddedEventPublisher(EventLog.For(Path.Combine(options.DataDir, "pubsub.db")), "wfhost", new PubSubOptions()));
services.AddSingleton(effects);
services.AddSingleton(halt);
services.AddSingleton(options);
services.AddWorkflows(o =>
{
    o.RegisterWorkflow<FiveStepWorkflow>();
    o.RegisterActivity<Step>();
}, o =>
{
    o.LeaseDuration = TimeSpan.FromSeconds(2);
    o.RenewInterval = TimeSpan.FromMilliseconds(500);
    o.PollInterval = TimeSpan.FromMilliseconds(100);
    o.MaxConcurrentInstances = options.MaxConcurrent;
    o.OnCheckpoint = halt.OnCheckpoint;
});
await using var provider = services.BuildServiceProvider();
var runner = provider.GetRequiredService<WorkflowRunner>();
var client = provider.GetRequiredService<WorkflowClient>();

using var stop = new CancellationTokenSource();
var running = runner.RunAsync(stop.Token);
foreach (var id in options.Instances)
    await client.ScheduleNewWorkflowAsync(nameof(FiveStepWorkflow), id, new FiveStepInput(0));
var store = provider.GetRequiredService<IStateStoreProvider>().Get(Components.StateStore);
foreach (var id in options.Instances)
{
    var state = await client.WaitForWorkflowCompletionAsync(id);
    // Also wait for its end to be published: that may fall to this process after another was killed.
    while ((await store.GetAsync<System.Text.Json.Nodes.JsonObject>("workflow:" + id))?["published"]?.GetValue<bool>() != true)
        await Task.Delay(50);
    Console.WriteLine($"FINISHED {id} {state.RuntimeStatus} {state.SerializedOutput}");
}
stop.Cancel();
await running;
Console.WriteLine("DONE");
return 0;
