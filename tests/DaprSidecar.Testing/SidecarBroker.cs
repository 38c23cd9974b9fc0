using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Platform.DaprSidecar.Testing;

/// <summary>A message the broker accepted: the envelope daprd built, and the metadata it was published with.</summary>
public sealed record BrokerMessage(string PubSub, string Topic, JsonObject Envelope, IReadOnlyDictionary<string, string> Metadata)
{
    public string Id => (string)Envelope["id"]!;
}

/// <summary>What happened to one delivery attempt, as the sidecar read the app's answer (§3.6).</summary>
public sealed record DeliveryAttempt(string AppId, string Topic, string Id, int Attempt, int HttpStatus, string Outcome);

/// <summary>
/// The broker behind the pub/sub component, Kafka-like: each topic has one consumer group per subscribing app id,
/// a group starts at the newest message when its first member subscribes, and each message goes to one member of each
/// group (round robin over the group's running sidecars), one delivery at a time per group. A group keeps its
/// undelivered messages while none of its members runs.
/// </summary>
public sealed class SidecarBroker(SidecarCluster cluster) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Topic, string AppId), ConsumerGroup> _groups = new();
    private readonly ConcurrentQueue<BrokerMessage> _published = new();
    private readonly ConcurrentQueue<DeliveryAttempt> _attempts = new();
    private readonly CancellationTokenSource _stop = new();

    public IReadOnlyList<BrokerMessage> Published => _published.ToArray();
    public IReadOnlyList<DeliveryAttempt> Attempts => _attempts.ToArray();

    /// <summary>Messages a group gave up on without a dead-letter topic (the component would redeliver them later).</summary>
    public ConcurrentQueue<BrokerMessage> Undelivered { get; } = new();

    internal void Record(DeliveryAttempt attempt) => _attempts.Enqueue(attempt);

    internal void Publish(BrokerMessage message)
    {
        _published.Enqueue(message);
        foreach (var ((topic, _), group) in _groups)
            if (topic == message.Topic) group.Enqueue(message);
    }

    internal void Subscribe(FaithfulSidecar sidecar, SidecarSubscription subscription) =>
        _groups.GetOrAdd((subscription.Topic, sidecar.AppId), key => new ConsumerGroup(cluster, key.Topic, key.AppId, _stop.Token))
            .Join(sidecar, subscription);

    internal void Leave(FaithfulSidecar sidecar)
    {
        foreach (var group in _groups.Values) group.Leave(sidecar);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_groups.Values.Select(g => g.Worker));
        _stop.Dispose();
    }

    private sealed class ConsumerGroup
    {
        private readonly SidecarCluster _cluster;
        private readonly Channel<BrokerMessage> _queue = Channel.CreateUnbounded<BrokerMessage>();
        private readonly List<(FaithfulSidecar Sidecar, SidecarSubscription Subscription)> _members = [];
        private readonly SemaphoreSlim _membersChanged = new(0);
        private int _next;

        public ConsumerGroup(SidecarCluster cluster, string topic, string appId, CancellationToken stop)
        {
            _cluster = cluster;
            Topic = topic;
            AppId = appId;
            Worker = Task.Run(() => RunAsync(stop));
        }

        public string Topic { get; }
        public string AppId { get; }
        public Task Worker { get; }

        public void Enqueue(BrokerMessage message) => _queue.Writer.TryWrite(message);

        public void Join(FaithfulSidecar sidecar, SidecarSubscription subscription)
        {
            lock (_members) _members.Add((sidecar, subscription));
            _membersChanged.Release();
        }

        public void Leave(FaithfulSidecar sidecar)
        {
            lock (_members) _members.RemoveAll(m => m.Sidecar == sidecar);
        }

        private (FaithfulSidecar Sidecar, SidecarSubscription Subscription)? Pick()
        {
            lock (_members)
            {
                if (_members.Count == 0) return null;
                return _members[_next++ % _members.Count];
            }
        }

        private async Task RunAsync(CancellationToken stop)
        {
            try
            {
                await foreach (var message in _queue.Reader.ReadAllAsync(stop))
                    await DeliverAsync(message, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        private async Task DeliverAsync(BrokerMessage message, CancellationToken stop)
        {
            var policy = _cluster.Options.Delivery;
            for (var attempt = 1; ; attempt++)
            {
                var member = Pick();
                while (member is null)
                {
                    await _membersChanged.WaitAsync(stop);
                    member = Pick();
                }
                var (sidecar, subscription) = member.Value;
                var outcome = await sidecar.DeliverAsync(subscription, message, attempt, stop);
                switch (outcome)
                {
                    case DeliveryOutcome.Success:
                    case DeliveryOutcome.DroppedNotFound:
                        return;
                    case DeliveryOutcome.Drop:
                        if (subscription.DeadLetterTopic is { Length: > 0 } dlq) sidecar.PublishDeadLetter(message, dlq);
                        return;
                }
                if (attempt > policy.MaxRetries)
                {
                    if (subscription.DeadLetterTopic is { Length: > 0 } dlq) sidecar.PublishDeadLetter(message, dlq);
                    else _cluster.Broker.Undelivered.Enqueue(message);
                    return;
                }
                await Task.Delay(policy.Backoff(attempt), stop);
            }
        }
    }
}
