using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Contracts;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>Handles one delivered event. Throwing means <see cref="DeliveryResult.Retry"/>.</summary>
public delegate Task<DeliveryResult> EventHandlerDelegate(IServiceProvider services, CloudEvent e, CancellationToken ct);

/// <summary>
/// Handles a batch of delivered events, in log order (Dapr's bulk subscribe): one result per entry, in the same order.
/// Throwing means <see cref="DeliveryResult.Retry"/> for every entry.
/// </summary>
public delegate Task<IReadOnlyList<DeliveryResult>> BatchEventHandlerDelegate(IServiceProvider services, IReadOnlyList<CloudEvent> events, CancellationToken ct);

/// <summary>
/// A topic subscription of this app: consumer group = app id, failures go to <see cref="DeadLetterTopic"/>.
/// <see cref="Handler"/> takes one event; <see cref="BatchHandler"/>, when the topic has a batch handler, takes many
/// (the embedded runtime then delivers in batches and the Dapr adapter subscribes in bulk).
/// </summary>
public sealed record Subscription(string Topic, string DeadLetterTopic, EventHandlerDelegate Handler, BatchEventHandlerDelegate? BatchHandler = null)
{
    /// <summary>The app route the Dapr sidecar delivers this topic to.</summary>
    public string Route => "/events/" + Topic;
}

/// <summary>A delivered event of a typed batch handler: the payload and its envelope.</summary>
public readonly record struct Delivered<TEvent>(TEvent Event, CloudEvent Envelope);

/// <summary>The app's subscriptions, built at start-up from the registered handlers.</summary>
public sealed class SubscriptionRegistry
{
    private readonly Dictionary<string, Dictionary<string, EventHandlerDelegate>> _byTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EventHandlerDelegate> _raw = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, BatchEventHandlerDelegate>> _batchByTopic = new(StringComparer.Ordinal);

    /// <summary>Handles every event on <paramref name="topic"/>, whatever its type.</summary>
    public void AddRaw(string topic, EventHandlerDelegate handler)
    {
        if (!_raw.TryAdd(topic, handler)) throw new InvalidOperationException($"Topic '{topic}' already has a handler.");
    }

    /// <summary>Handles events of CloudEvent type <paramref name="type"/> on <paramref name="topic"/>.</summary>
    public void Add(string topic, string type, EventHandlerDelegate handler)
    {
        if (!_byTopic.TryGetValue(topic, out var handlers)) _byTopic[topic] = handlers = new(StringComparer.Ordinal);
        if (!handlers.TryAdd(type, handler) || HasBatchHandler(topic, type))
            throw new InvalidOperationException($"Topic '{topic}' already has a handler for '{type}'.");
    }

    /// <summary>Handles events of CloudEvent type <paramref name="type"/> on <paramref name="topic"/> in batches.</summary>
    public void AddBatch(string topic, string type, BatchEventHandlerDelegate handler)
    {
        if (!_batchByTopic.TryGetValue(topic, out var handlers)) _batchByTopic[topic] = handlers = new(StringComparer.Ordinal);
        if (!handlers.TryAdd(type, handler) || (_byTopic.TryGetValue(topic, out var single) && single.ContainsKey(type)))
            throw new InvalidOperationException($"Topic '{topic}' already has a handler for '{type}'.");
    }

    private bool HasBatchHandler(string topic, string type) => _batchByTopic.TryGetValue(topic, out var handlers) && handlers.ContainsKey(type);

    public IReadOnlyList<Subscription> Subscriptions =>
        _byTopic.Keys.Concat(_raw.Keys).Concat(_batchByTopic.Keys).Distinct().Order(StringComparer.Ordinal)
            .Select(topic => new Subscription(topic, Topics.DeadLetter(topic), (sp, e, ct) => DispatchAsync(topic, sp, e, ct),
                !_raw.ContainsKey(topic) && _batchByTopic.ContainsKey(topic) ? (sp, events, ct) => DispatchBatchAsync(topic, sp, events, ct) : null))
            .ToList();

    private async Task<DeliveryResult> DispatchAsync(string topic, IServiceProvider services, CloudEvent e, CancellationToken ct)
    {
        if (_raw.TryGetValue(topic, out var raw)) return await raw(services, e, ct);
        if (_byTopic.TryGetValue(topic, out var handlers) && handlers.TryGetValue(e.Type, out var handler))
            return await handler(services, e, ct);
        if (_batchByTopic.TryGetValue(topic, out var batchHandlers) && batchHandlers.TryGetValue(e.Type, out var batch))
            return (await batch(services, [e], ct))[0];
        // Other event types share this topic (e.g. BarsImported next to BarClosed): not ours, so nothing to do.
        return DeliveryResult.Success;
    }

    /// <summary>
    /// Hands each run of consecutive events of one batch-handled type to its batch handler and every other event to
    /// <see cref="DispatchAsync"/>, in log order, so events of different types keep their relative order.
    /// </summary>
    private async Task<IReadOnlyList<DeliveryResult>> DispatchBatchAsync(string topic, IServiceProvider services, IReadOnlyList<CloudEvent> events, CancellationToken ct)
    {
        var results = new DeliveryResult[events.Count];
        var batchHandlers = _batchByTopic[topic];
        var i = 0;
        while (i < events.Count)
        {
            if (!batchHandlers.TryGetValue(events[i].Type, out var handler))
            {
                results[i] = await DispatchAsync(topic, services, events[i], ct);
                i++;
                continue;
            }
            var end = i + 1;
            while (end < events.Count && events[end].Type == events[i].Type) end++;
            var run = i == 0 && end == events.Count ? events : events.Skip(i).Take(end - i).ToList();
            var runResults = await handler(services, run, ct);
            if (runResults.Count != run.Count)
                throw new InvalidOperationException($"A batch handler on '{topic}' answered {runResults.Count} results for {run.Count} events.");
            for (var k = 0; k < runResults.Count; k++) results[i + k] = runResults[k];
            i = end;
        }
        return results;
    }
}

public static class SubscriptionServiceCollectionExtensions
{
    private static SubscriptionRegistry Registry(IServiceCollection services)
    {
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(SubscriptionRegistry))?.ImplementationInstance;
        if (existing is SubscriptionRegistry registry) return registry;
        registry = new SubscriptionRegistry();
        services.AddSingleton(registry);
        return registry;
    }

    /// <summary>
    /// Subscribes a typed handler to its event's topic. Data that does not deserialize is a poison message
    /// (dropped to the dead-letter topic with a logged reason); a handler that throws is retried.
    /// </summary>
    public static IServiceCollection AddEventHandler<TEvent>(this IServiceCollection services,
        Func<IServiceProvider, TEvent, CloudEvent, CancellationToken, Task> handler, string? topic = null)
        where TEvent : IIntegrationEvent
    {
        topic ??= (string)typeof(TEvent).GetField("TopicName")!.GetValue(null)!;
        Registry(services).Add(topic, typeof(TEvent).Name, async (sp, e, ct) =>
        {
            TEvent? payload;
            try
            {
                payload = e.DataAs<TEvent>();
            }
            catch (JsonException ex)
            {
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.PubSub")
                    .LogError("Dropping malformed {Type} event {Id} on {Topic}: {Reason}", e.Type, e.Id, e.Topic, ex.Message);
                return DeliveryResult.Drop;
            }
            await handler(sp, payload, e, ct);
            return DeliveryResult.Success;
        });
        return services;
    }

    /// <summary>
    /// Subscribes a typed batch handler to its event's topic: it receives the events of a delivered batch in log order.
    /// Data that does not deserialize is a poison message (dropped to the dead-letter topic with a logged reason, the
    /// rest of the batch handled); a handler that throws fails the whole batch, which the runtime retries (the embedded
    /// runtime one event at a time, so a failing event is dead-lettered on its own). The handler must be idempotent per
    /// event, as any handler.
    /// </summary>
    public static IServiceCollection AddBatchEventHandler<TEvent>(this IServiceCollection services,
        Func<IServiceProvider, IReadOnlyList<Delivered<TEvent>>, CancellationToken, Task> handler, string? topic = null)
        where TEvent : IIntegrationEvent
    {
        topic ??= (string)typeof(TEvent).GetField("TopicName")!.GetValue(null)!;
        Registry(services).AddBatch(topic, typeof(TEvent).Name, async (sp, events, ct) =>
        {
            var results = new DeliveryResult[events.Count];
            var payloads = new List<Delivered<TEvent>>(events.Count);
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                try
                {
                    payloads.Add(new Delivered<TEvent>(e.DataAs<TEvent>(), e));
                }
                catch (JsonException ex)
                {
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.PubSub")
                        .LogError("Dropping malformed {Type} event {Id} on {Topic}: {Reason}", e.Type, e.Id, e.Topic, ex.Message);
                    results[i] = DeliveryResult.Drop;
                }
            }
            if (payloads.Count > 0) await handler(sp, payloads, ct);
            return results;
        });
        return services;
    }

    public static IServiceCollection AddRawEventHandler(this IServiceCollection services, string topic, EventHandlerDelegate handler)
    {
        Registry(services).AddRaw(topic, handler);
        return services;
    }

    /// <summary>Ensures the registry exists even for an app with no subscriptions.</summary>
    public static SubscriptionRegistry GetOrAddSubscriptionRegistry(this IServiceCollection services) => Registry(services);
}
