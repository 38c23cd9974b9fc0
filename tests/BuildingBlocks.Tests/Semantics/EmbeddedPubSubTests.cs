using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>Pub/sub semantics of the embedded adapter: ordering, retries, dead-lettering, consumer groups, refusals.</summary>
public sealed class EmbeddedPubSubTests : IDisposable
{
    private const string Topic = Topics.MarketBars;
    private readonly TempDir _dir = new();

    private static OutgoingEvent Event(string id, object? data = null, string topic = Topic) =>
        new(topic, id, "Test", StateStoreExtensions.Serialize(data ?? new { id }));

    private IHost Consumer(string appId, EventHandlerDelegate handler, string topic = Topic, int maxAttempts = 3) =>
        TestRuntime.Build(_dir.Path, appId, s => s.AddRawEventHandler(topic, handler), maxAttempts);

    private static IEventPublisher Publisher(IHost host) => host.Services.GetRequiredService<IEventPublisher>();

    [Fact]
    public async Task PublishAsync_ManyEvents_DeliveredOnceEachInOrder()
    {
        var seen = new ConcurrentQueue<string>();
        using var host = Consumer("c1", (_, e, _) => { seen.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        await host.StartAsync();
        for (var i = 0; i < 300; i++) await Publisher(host).PublishAsync(Event($"e{i}"));

        await TestRuntime.WaitUntilAsync(() => seen.Count >= 300, "300 deliveries");
        await Task.Delay(100);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"e{i}"), seen);
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_HandlerFailsTwice_RedeliveredUntilSuccess()
    {
        var attempts = 0;
        var dead = new ConcurrentQueue<string>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => ++attempts <= 2 ? throw new InvalidOperationException("boom") : Task.FromResult(DeliveryResult.Success));
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await host.StartAsync();
        await Publisher(host).PublishAsync(Event("flaky"));

        await TestRuntime.WaitUntilAsync(() => attempts >= 3, "third attempt");
        await Task.Delay(200);
        Assert.Equal(3, attempts);
        Assert.Empty(dead);
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_HandlerAlwaysFails_DeadLetteredAfterMaxAttemptsAndNextEventFlows()
    {
        var attempts = new ConcurrentDictionary<string, int>();
        var dead = new ConcurrentQueue<CloudEvent>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, e, _) =>
            {
                attempts.AddOrUpdate(e.Id, 1, (_, n) => n + 1);
                return e.Id == "poison" ? throw new InvalidOperationException("always") : Task.FromResult(DeliveryResult.Success);
            });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e); return Task.FromResult(DeliveryResult.Success); });
        }, maxAttempts: 4);
        await host.StartAsync();
        await Publisher(host).PublishAsync(Event("poison", new { payload = 42 }));
        await Publisher(host).PublishAsync(Event("after"));

        await TestRuntime.WaitUntilAsync(() => dead.Count == 1 && attempts.ContainsKey("after"), "dead letter and next event");
        Assert.Equal(4, attempts["poison"]);
        var letter = Assert.Single(dead);
        Assert.Equal("poison", letter.Id);
        Assert.Equal(42, letter.DataAs<System.Text.Json.JsonElement>().GetProperty("payload").GetInt32());
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_HandlerDrops_DeadLetteredWithoutRetry()
    {
        var attempts = 0;
        var dead = new ConcurrentQueue<string>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => { attempts++; return Task.FromResult(DeliveryResult.Drop); });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await host.StartAsync();
        await Publisher(host).PublishAsync(Event("bad"));
        await TestRuntime.WaitUntilAsync(() => dead.Count == 1, "dead letter");
        Assert.Equal(1, attempts);
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_MalformedDataForTypedHandler_DeadLettered()
    {
        var handled = 0;
        var dead = new ConcurrentQueue<string>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s =>
        {
            s.AddEventHandler<BarClosed>((_, _, _, _) => { handled++; return Task.CompletedTask; });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await host.StartAsync();
        await Publisher(host).PublishAsync(new OutgoingEvent(Topic, "bar:bad", nameof(BarClosed), "{\"symbol\":17,\"open\":\"x\"}"u8.ToArray()));
        await TestRuntime.WaitUntilAsync(() => dead.Count == 1, "dead letter");
        Assert.Equal(0, handled);
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_TwoAppIds_EachGroupGetsEveryEvent()
    {
        var a = new ConcurrentQueue<string>();
        var b = new ConcurrentQueue<string>();
        using var hostA = Consumer("group-a", (_, e, _) => { a.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        using var hostB = Consumer("group-b", (_, e, _) => { b.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        await hostA.StartAsync();
        await hostB.StartAsync();
        for (var i = 0; i < 20; i++) await Publisher(hostA).PublishAsync(Event($"e{i}"));
        await TestRuntime.WaitUntilAsync(() => a.Count == 20 && b.Count == 20, "both groups");
        await hostA.StopAsync();
        await hostB.StopAsync();
    }

    [Fact]
    public async Task Deliver_TwoReplicasOfOneAppId_EachEventHandledOnce()
    {
        var seen = new ConcurrentBag<string>();
        EventHandlerDelegate handler = (_, e, _) => { seen.Add(e.Id); return Task.FromResult(DeliveryResult.Success); };
        using var one = Consumer("shared", handler);
        using var two = Consumer("shared", handler);
        await one.StartAsync();
        await two.StartAsync();
        for (var i = 0; i < 100; i++) await Publisher(one).PublishAsync(Event($"e{i}"));
        await TestRuntime.WaitUntilAsync(() => seen.Count >= 100, "100 deliveries");
        await Task.Delay(300);
        Assert.Equal(100, seen.Count);
        Assert.Equal(100, seen.Distinct().Count());
        await one.StopAsync();
        await two.StopAsync();
    }

    [Fact]
    public async Task Deliver_RedeliveredEventThroughIdempotencyHelper_HasNoSecondEffect()
    {
        var deliveries = 0;
        using var host = Consumer("counter", async (sp, e, ct) =>
        {
            Interlocked.Increment(ref deliveries);
            var store = sp.GetRequiredService<IStateStoreProvider>().PrivateStore();
            await store.HandleOnceAsync(e.Id, async token =>
            {
                var n = await store.GetAsync<int>("effects", token);
                return [StateStoreExtensions.Upsert("effects", n + 1)];
            }, ct);
            return DeliveryResult.Success;
        });
        await host.StartAsync();
        // The same business key published three times (a re-publish, as a redelivery would look).
        for (var i = 0; i < 3; i++) await Publisher(host).PublishAsync(Event("bar:X:1d:2024-01-02T00:00:00.0000000Z"));
        await Publisher(host).PublishAsync(Event("other"));
        await TestRuntime.WaitUntilAsync(() => deliveries == 4, "four deliveries");
        var store = host.Services.GetRequiredService<IStateStoreProvider>().PrivateStore();
        Assert.Equal(2, await store.GetAsync<int>("effects"));
        await host.StopAsync();
    }

    [Fact]
    public async Task Deliver_AfterRestart_ResumesFromCommittedPosition()
    {
        var first = new ConcurrentQueue<string>();
        using (var host = Consumer("c1", (_, e, _) => { first.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); }))
        {
            await host.StartAsync();
            for (var i = 0; i < 10; i++) await Publisher(host).PublishAsync(Event($"a{i}"));
            await TestRuntime.WaitUntilAsync(() => first.Count == 10, "first ten");
            await host.StopAsync();
        }
        var second = new ConcurrentQueue<string>();
        using var again = Consumer("c1", (_, e, _) => { second.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        await again.StartAsync();
        await Publisher(again).PublishAsync(Event("b0"));
        await TestRuntime.WaitUntilAsync(() => second.Contains("b0"), "new event");
        Assert.Equal(["b0"], second);
        await again.StopAsync();
    }

    public static TheoryData<string, OutgoingEvent, string> RefusedEvents => new()
    {
        { "unknown topic", new OutgoingEvent("no-such-topic", "id", "T", "{}"u8.ToArray()), "Unknown topic" },
        { "empty id", new OutgoingEvent(Topic, "", "T", "{}"u8.ToArray()), "needs an id" },
        { "empty type", new OutgoingEvent(Topic, "id", "", "{}"u8.ToArray()), "needs a type" },
        { "not JSON", new OutgoingEvent(Topic, "id", "T", "{oops"u8.ToArray()), "not valid JSON" },
        { "oversized", new OutgoingEvent(Topic, "id", "T", StateStoreExtensions.Serialize(new string('x', 1024 * 1024))), "limit" },
    };

    [Theory]
    [MemberData(nameof(RefusedEvents))]
    public async Task PublishAsync_InvalidEvent_RefusedAndNothingWritten(string _, OutgoingEvent e, string message)
    {
        var seen = 0;
        using var host = Consumer("c1", (_, _, _) => { seen++; return Task.FromResult(DeliveryResult.Success); });
        await host.StartAsync();
        var ex = await Assert.ThrowsAsync<PublishRefusedException>(() => Publisher(host).PublishAsync(e));
        Assert.Contains(message, ex.Message);
        await Publisher(host).PublishAsync(Event("valid"));
        await TestRuntime.WaitUntilAsync(() => seen == 1, "the valid event");
        await Task.Delay(100);
        Assert.Equal(1, seen);
        await host.StopAsync();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
