using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Contracts;

namespace Platform.BuildingBlocks.PubSub;

/// <summary>Handles one delivered event. Throwing means <see cref="DeliveryResult.Retry"/>.</summary>
public delegate Task<DeliveryResult> EventHandlerDelegate(IServiceProvider services, CloudEvent e, CancellationToken ct);

/// <summary>A topic subscription of this app: consumer group = app id, failures go to <see cref="DeadLetterTopic"/>.</summary>
public sealed record Subscription(string Topic, string DeadLetterTopic, EventHandlerDelegate Handler)
{
    /// <summary>The app route the Dapr sidecar delivers this topic to.</summary>
    public string Route => "/events/" + Topic;
}

/// <summary>The app's subscriptions, built at start-up from the registered handlers.</summary>
public sealed class SubscriptionRegistry
{
    private readonly Dictionary<string, Dictionary<string, EventHandlerDelegate>> _byTopic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, EventHandlerDelegate> _raw = new(StringComparer.Ordinal);

    /// <summary>Handles every event on <paramref name="topic"/>, whatever its type.</summary>
    public void AddRaw(string topic, EventHandlerDelegate handler)
    {
        if (!_raw.TryAdd(topic, handler)) throw new InvalidOperationException($"Topic '{topic}' already has a handler.");
    }

    /// <summary>Handles events of CloudEvent type <paramref name="type"/> on <paramref name="topic"/>.</summary>
    public void Add(string topic, string type, EventHandlerDelegate handler)
    {
        if (!_byTopic.TryGetValue(topic, out var handlers)) _byTopic[topic] = handlers = new(StringComparer.Ordinal);
        if (!handlers.TryAdd(type, handler)) throw new InvalidOperationException($"Topic '{topic}' already has a handler for '{type}'.");
    }

    public IReadOnlyList<Subscription> Subscriptions =>
        _byTopic.Keys.Concat(_raw.Keys).Distinct().Order(StringComparer.Ordinal)
            .Select(topic => new Subscription(topic, Topics.DeadLetter(topic), (sp, e, ct) => DispatchAsync(topic, sp, e, ct)))
            .ToList();

    private Task<DeliveryResult> DispatchAsync(string topic, IServiceProvider services, CloudEvent e, CancellationToken ct)
    {
        if (_raw.TryGetValue(topic, out var raw)) return raw(services, e, ct);
        if (_byTopic.TryGetValue(topic, out var handlers) && handlers.TryGetValue(e.Type, out var handler))
            return handler(services, e, ct);
        // Other event types share this topic (e.g. BarsImported next to BarClosed): not ours, so nothing to do.
        return Task.FromResult(DeliveryResult.Success);
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

    public static IServiceCollection AddRawEventHandler(this IServiceCollection services, string topic, EventHandlerDelegate handler)
    {
        Registry(services).AddRaw(topic, handler);
        return services;
    }

    /// <summary>Ensures the registry exists even for an app with no subscriptions.</summary>
    public static SubscriptionRegistry GetOrAddSubscriptionRegistry(this IServiceCollection services) => Registry(services);
}
