using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;

// Usage:
//   consume  DATA_DIR APP_ID TOPIC LOG_FILE [SLOW_MS [STALL_ID]] - subscribe; each delivery appends "start ID" and, after SLOW_MS,
//                                                       applies its effect once via the idempotency helper and appends "done ID";
//                                                       the delivery of STALL_ID never ends (it waits to be killed)
//   publish  DATA_DIR TOPIC COUNT                     - publish COUNT events with ids e0..e{COUNT-1}, one by one, then print "published"
//   publish-consume DATA_DIR APP_ID TOPIC LOG_FILE COUNT SLOW_MS [STALL_ID] - publish as "publish" does, then consume them as "consume"
//                                                       does in the same process (deliveries from the log's committed tail)
var mode = args[0];
var dataDir = args[1];

if (mode == "publish")
{
    var topic = args[2];
    var count = int.Parse(args[3]);
    using var host = BuildHost(dataDir, "publisher", _ => { });
    var publisher = host.Services.GetRequiredService<IEventPublisher>();
    for (var i = 0; i < count; i++)
        await publisher.PublishAsync(new OutgoingEvent(topic, $"e{i}", "Test", StateStoreExtensions.Serialize(new { n = i })));
    Console.WriteLine("published");
    return 0;
}

if (mode is "consume" or "publish-consume")
{
    var appId = args[2];
    var topic = args[3];
    var logFile = args[4];
    var publishCount = mode == "publish-consume" ? int.Parse(args[5]) : 0;
    var slowArg = mode == "publish-consume" ? 6 : 5;
    var slow = args.Length > slowArg ? int.Parse(args[slowArg]) : 0;
    var stall = args.Length > slowArg + 1 ? args[slowArg + 1] : null;
    using var host = BuildHost(dataDir, appId, services => services.AddRawEventHandler(topic, async (sp, e, ct) =>
    {
        Append(logFile, "start " + e.Id);
        if (slow > 0) await Task.Delay(slow, ct);
        if (e.Id == stall) await Task.Delay(Timeout.Infinite, ct);
        var store = sp.GetRequiredService<IStateStoreProvider>().PrivateStore();
        var applied = await store.HandleOnceAsync(e.Id, async token =>
        {
            var counter = await store.GetAsync<int>("effects", token);
            return [StateStoreExtensions.Upsert("effects", counter + 1)];
        }, ct);
        Append(logFile, (applied ? "done " : "duplicate ") + e.Id);
        return DeliveryResult.Success;
    }));
    await host.StartAsync();
    var publisher = host.Services.GetRequiredService<IEventPublisher>();
    for (var i = 0; i < publishCount; i++)
        await publisher.PublishAsync(new OutgoingEvent(topic, $"e{i}", "Test", StateStoreExtensions.Serialize(new { n = i })));
    Console.WriteLine("consuming");
    await host.WaitForShutdownAsync();
    return 0;
}

Console.Error.WriteLine($"unknown mode {mode}");
return 2;

static IHost BuildHost(string dataDir, string appId, Action<IServiceCollection> configure)
{
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.ClearProviders();
    builder.Configuration["Runtime:Mode"] = "embedded";
    builder.Configuration["DataDir"] = dataDir;
    builder.Configuration["PubSub:Embedded:LeaseDuration"] = "00:00:01";
    builder.Configuration["PubSub:Embedded:PollInterval"] = "00:00:00.020";
    builder.Services.AddBuildingBlocks(RuntimeSettings.From(builder.Configuration, appId), builder.Configuration);
    builder.Services.GetOrAddSubscriptionRegistry();
    configure(builder.Services);
    return builder.Build();
}

static void Append(string file, string line)
{
    using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
    stream.Write(System.Text.Encoding.UTF8.GetBytes(line + "\n"));
    stream.Flush(flushToDisk: true);
}
