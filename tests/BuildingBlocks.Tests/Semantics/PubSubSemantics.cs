using System.Collections.Concurrent;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>A running app of the suite: its services (publisher, state) and how to stop it.</summary>
public interface ITestConsumer : IAsyncDisposable
{
    IServiceProvider Services { get; }
}

/// <summary>
/// Pub/sub semantics every adapter must show: ordering within a key, retries, dead-lettering, consumer groups,
/// refusals. Derive and supply <see cref="StartAsync"/>: an app with the given id and handlers, whose deliveries are
/// attempted <c>maxAttempts</c> times before dead-lettering.
/// </summary>
public abstract class PubSubSemantics
{
    private const string Topic = Topics.MarketBars;

    protected abstract Task<ITestConsumer> StartAsync(string appId, Action<IServiceCollection> configure, int maxAttempts = 3);

    private static OutgoingEvent Event(string id, object? data = null, string topic = Topic) =>
        new(topic, id, "Test", StateStoreExtensions.Serialize(data ?? new { id }));

    private Task<ITestConsumer> Consumer(string appId, EventHandlerDelegate handler, string topic = Topic, int maxAttempts = 3) =>
        StartAsync(appId, s => s.AddRawEventHandler(topic, handler), maxAttempts);

    private static IEventPublisher Publisher(ITestConsumer host) => host.Services.GetRequiredService<IEventPublisher>();

    [SemanticsFact]
    public async Task PublishAsync_ManyEvents_DeliveredOnceEachInOrder()
    {
        var seen = new ConcurrentQueue<string>();
        await using var host = await Consumer("c1", (_, e, _) => { seen.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        for (var i = 0; i < 300; i++) await Publisher(host).PublishAsync(Event($"e{i}"));

        await TestRuntime.WaitUntilAsync(() => seen.Count >= 300, "300 deliveries");
        await Task.Delay(100);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"e{i}"), seen);
    }

    [SemanticsFact]
    public async Task Deliver_HandlerFailsTwice_RedeliveredUntilSuccess()
    {
        var attempts = 0;
        var dead = new ConcurrentQueue<string>();
        await using var host = await StartAsync("c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => ++attempts <= 2 ? throw new InvalidOperationException("boom") : Task.FromResult(DeliveryResult.Success));
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await Publisher(host).PublishAsync(Event("flaky"));

        await TestRuntime.WaitUntilAsync(() => attempts >= 3, "third attempt");
        await Task.Delay(200);
        Assert.Equal(3, attempts);
        Assert.Empty(dead);
    }

    [SemanticsFact]
    public async Task Deliver_HandlerAlwaysFails_DeadLetteredAfterMaxAttemptsAndNextEventFlows()
    {
        var attempts = new ConcurrentDictionary<string, int>();
        var dead = new ConcurrentQueue<CloudEvent>();
        await using var host = await StartAsync("c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, e, _) =>
            {
                attempts.AddOrUpdate(e.Id, 1, (_, n) => n + 1);
                return e.Id == "poison" ? throw new InvalidOperationException("always") : Task.FromResult(DeliveryResult.Success);
            });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e); return Task.FromResult(DeliveryResult.Success); });
        }, maxAttempts: 4);
        await Publisher(host).PublishAsync(Event("poison", new { payload = 42 }));
        await Publisher(host).PublishAsync(Event("after"));

        await TestRuntime.WaitUntilAsync(() => dead.Count == 1 && attempts.ContainsKey("after"), "dead letter and next event");
        Assert.Equal(4, attempts["poison"]);
        var letter = Assert.Single(dead);
        Assert.Equal("poison", letter.Id);
        Assert.Equal(42, letter.DataAs<System.Text.Json.JsonElement>().GetProperty("payload").GetInt32());
    }

    [SemanticsFact]
    public async Task Deliver_HandlerDrops_DeadLetteredWithoutRetry()
    {
        var attempts = 0;
        var dead = new ConcurrentQueue<string>();
        await using var host = await StartAsync("c1", s =>
        {
            s.AddRawEventHandler(Topic, (_, _, _) => { attempts++; return Task.FromResult(DeliveryResult.Drop); });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await Publisher(host).PublishAsync(Event("bad"));
        await TestRuntime.WaitUntilAsync(() => dead.Count == 1, "dead letter");
        Assert.Equal(1, attempts);
    }

    [SemanticsFact]
    public async Task Deliver_MalformedDataForTypedHandler_DeadLettered()
    {
        var handled = 0;
        var dead = new ConcurrentQueue<string>();
        await using var host = await StartAsync("c1", s =>
        {
            s.AddEventHandler<BarClosed>((_, _, _, _) => { handled++; return Task.CompletedTask; });
            s.AddRawEventHandler(Topics.DeadLetter(Topic), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await Publisher(host).PublishAsync(new OutgoingEvent(Topic, "bar:bad", nameof(BarClosed), "{\"symbol\":17,\"open\":\"x\"}"u8.ToArray()));
        await TestRuntime.WaitUntilAsync(() => dead.Count == 1, "dead letter");
        Assert.Equal(0, handled);
    }

    [SemanticsFact]
    public async Task Deliver_TwoAppIds_EachGroupGetsEveryEvent()
    {
        var a = new ConcurrentQueue<string>();
        var b = new ConcurrentQueue<string>();
        await using var hostA = await Consumer("group-a", (_, e, _) => { a.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        await using var hostB = await Consumer("group-b", (_, e, _) => { b.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        for (var i = 0; i < 20; i++) await Publisher(hostA).PublishAsync(Event($"e{i}"));
        await TestRuntime.WaitUntilAsync(() => a.Count == 20 && b.Count == 20, "both groups");
    }

    [SemanticsFact]
    public async Task Deliver_TwoReplicasOfOneAppId_EachEventHandledOnce()
    {
        var seen = new ConcurrentBag<string>();
        EventHandlerDelegate handler = (_, e, _) => { seen.Add(e.Id); return Task.FromResult(DeliveryResult.Success); };
        await using var one = await Consumer("shared", handler);
        await using var two = await Consumer("shared", handler);
        for (var i = 0; i < 100; i++) await Publisher(one).PublishAsync(Event($"e{i}"));
        await TestRuntime.WaitUntilAsync(() => seen.Count >= 100, "100 deliveries");
        await Task.Delay(300);
        Assert.Equal(100, seen.Count);
        Assert.Equal(100, seen.Distinct().Count());
    }

    [SemanticsFact]
    public async Task Deliver_RedeliveredEventThroughIdempotencyHelper_HasNoSecondEffect()
    {
        var deliveries = 0;
        await using var host = await Consumer("counter", async (sp, e, ct) =>
        {
            var store = sp.GetRequiredService<IStateStoreProvider>().PrivateStore();
            await store.HandleOnceAsync(e.Id, async token =>
            {
                var n = await store.GetAsync<int>("effects", token);
                return [StateStoreExtensions.Upsert("effects", n + 1)];
            }, ct);
            // Counted once the effect is committed, so the assertion below never reads ahead of the last commit.
            Interlocked.Increment(ref deliveries);
            return DeliveryResult.Success;
        });
        // The same business key published three times (a re-publish, as a redelivery would look).
        for (var i = 0; i < 3; i++) await Publisher(host).PublishAsync(Event("bar:X:1d:2024-01-02T00:00:00.0000000Z"));
        await Publisher(host).PublishAsync(Event("other"));
        await TestRuntime.WaitUntilAsync(() => deliveries == 4, "four deliveries");
        var store = host.Services.GetRequiredService<IStateStoreProvider>().PrivateStore();
        Assert.Equal(2, await store.GetAsync<int>("effects"));
    }

    [SemanticsFact]
    public async Task Deliver_AfterRestart_ResumesFromCommittedPosition()
    {
        var first = new ConcurrentQueue<string>();
        await using (var host = await Consumer("c1", (_, e, _) => { first.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); }))
        {
            for (var i = 0; i < 10; i++) await Publisher(host).PublishAsync(Event($"a{i}"));
            await TestRuntime.WaitUntilAsync(() => first.Count == 10, "first ten");
        }
        var second = new ConcurrentQueue<string>();
        await using var again = await Consumer("c1", (_, e, _) => { second.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        await Publisher(again).PublishAsync(Event("b0"));
        await TestRuntime.WaitUntilAsync(() => second.Contains("b0"), "new event");
        // The first consumer stopped as soon as its handler had taken a9, so a9's acknowledgement may not have reached the
        // broker (Dapr's sidecar counts a delivery only once the app's answer arrives): a9 may come once more, nothing before it.
        var ids = second.ToArray();
        Assert.True(ids is ["b0"] or ["a9", "b0"], $"delivered after the restart: {string.Join(", ", ids)}");
    }

    public static TheoryData<string, OutgoingEvent, string> RefusedEvents => new()
    {
        { "unknown topic", new OutgoingEvent("no-such-topic", "id", "T", "{}"u8.ToArray()), "Unknown topic" },
        { "empty id", new OutgoingEvent(Topic, "", "T", "{}"u8.ToArray()), "needs an id" },
        { "empty type", new OutgoingEvent(Topic, "id", "", "{}"u8.ToArray()), "needs a type" },
        { "not JSON", new OutgoingEvent(Topic, "id", "T", "{oops"u8.ToArray()), "not valid JSON" },
        { "part of a checked payload", new OutgoingEvent(Topic, "id", "T", JsonPayload.Write("b", static (w, b) =>
            {
                w.WriteStartObject();
                w.WriteString("a", b);
                w.WriteEndObject();
            })[..5]), "not valid JSON" },
        { "oversized", new OutgoingEvent(Topic, "id", "T", StateStoreExtensions.Serialize(new string('x', 1024 * 1024))), "limit" },
    };

    [SemanticsTheory]
    [MemberData(nameof(RefusedEvents))]
    public async Task PublishAsync_InvalidEvent_RefusedAndNothingWritten(string _, OutgoingEvent e, string message)
    {
        var seen = 0;
        await using var host = await Consumer("c1", (_, _, _) => { seen++; return Task.FromResult(DeliveryResult.Success); });
        var ex = await Assert.ThrowsAsync<PublishRefusedException>(() => Publisher(host).PublishAsync(e));
        Assert.Contains(message, ex.Message);
        await Publisher(host).PublishAsync(Event("valid"));
        await TestRuntime.WaitUntilAsync(() => seen == 1, "the valid event");
        await Task.Delay(100);
        Assert.Equal(1, seen);
    }
}
