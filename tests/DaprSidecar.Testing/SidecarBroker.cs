using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Platform.DaprSidecar.Testing;

/// <summary>A message the broker accepted: the envelope daprd built, and the metadata it was published with.</summary>
public sealed record BrokerMessage(string PubSub, string Topic, JsonObject Envelope, IReadOnlyDictionary<string, string> Metadata)
{
    public string Id => (string)Envelope["id"]!;
}

/// <summary>
/// What happened to one message in one delivery attempt, as the sidecar read the app's answer (§3.6); <see cref="BatchSize"/>
/// is how many messages the attempt's request carried (1 unless the subscription is bulk).
/// </summary>
public sealed record DeliveryAttempt(string AppId, string Topic, string Id, int Attempt, int HttpStatus, string Outcome, int BatchSize = 1);

/// <summary>
/// The broker behind the pub/sub component, Kafka-like: each topic has one consumer group per subscribing app id,
/// a group starts at the newest message when its first member subscribes, and each message goes to one member of each
/// group (round robin over the group's running sidecars), one delivery at a time per group. A group keeps its
/// undelivered messages while none of its members runs. A bulk subscription takes up to its most messages per delivery,
/// waiting at most its await time after the first; as daprd does, it retries only the messages whose entries failed, then
/// dead-letters (or gives up on) those still failing.
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
                {
                    await DeliverAsync(await BulkAsync(stop) is { } bulk ? await FillAsync(message, bulk, stop) : [message], stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }

        private async Task<(FaithfulSidecar Sidecar, SidecarSubscription Subscription)> PickAsync(CancellationToken stop)
        {
            var member = Pick();
            while (member is null)
            {
                await _membersChanged.WaitAsync(stop);
                member = Pick();
            }
            return member.Value;
        }

        /// <summary>The group's bulk setting (its members are one app id, so they declare the same), once it has a member.</summary>
        private async Task<BulkSubscribe?> BulkAsync(CancellationToken stop)
        {
            while (true)
            {
                lock (_members)
                    if (_members.Count > 0) return _members[0].Subscription.Bulk;
                await _membersChanged.WaitAsync(stop);
            }
        }

        /// <summary>The first message and those that arrive after it, up to the bulk's count or its await time.</summary>
        private async Task<List<BrokerMessage>> FillAsync(BrokerMessage first, BulkSubscribe bulk, CancellationToken stop)
        {
            var batch = new List<BrokerMessage> { first };
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
            wait.CancelAfter(bulk.MaxAwait);
            while (batch.Count < bulk.MaxMessages)
            {
                if (_queue.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                    continue;
                }
                try
                {
                    if (!await _queue.Reader.WaitToReadAsync(wait.Token)) break;
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    break;
                }
            }
            return batch;
        }

        /// <summary>
        /// Delivers <paramref name="messages"/> (one, or a bulk subscription's batch) under the delivery policy: each attempt
        /// goes to a member in turn, a dropped message goes to the dead-letter topic, and only the messages still failing
        /// are sent again, until the attempts are spent (then dead-lettered, or given up on without a dead-letter topic).
        /// </summary>
        private async Task DeliverAsync(List<BrokerMessage> messages, CancellationToken stop)
        {
            var policy = _cluster.Options.Delivery;
            for (var attempt = 1; ; attempt++)
            {
                var (sidecar, subscription) = await PickAsync(stop);
                DeliveryOutcome[] outcomes;
                if (subscription.Bulk is not null) outcomes = await sidecar.DeliverBulkAsync(subscription, messages, attempt, stop);
                else if (messages.Count == 1) outcomes = [await sidecar.DeliverAsync(subscription, messages[0], attempt, stop)];
                else
                {
                    // The members changed to ones without bulkSubscribe while the batch was filled: one request per message.
                    foreach (var message in messages) await DeliverAsync([message], stop);
                    return;
                }
                var failed = new List<BrokerMessage>();
                for (var i = 0; i < messages.Count; i++)
                {
                    if (outcomes[i] == DeliveryOutcome.Drop && subscription.DeadLetterTopic is { Length: > 0 } dlq) sidecar.PublishDeadLetter(messages[i], dlq);
                    else if (outcomes[i] == DeliveryOutcome.Retry) failed.Add(messages[i]);
                }
                messages = failed;
                if (messages.Count == 0) return;
                if (attempt > policy.MaxRetries)
                {
                    foreach (var message in messages)
                        if (subscription.DeadLetterTopic is { Length: > 0 } dlq) sidecar.PublishDeadLetter(message, dlq);
                        else _cluster.Broker.Undelivered.Enqueue(message);
                    return;
                }
                await Task.Delay(policy.Backoff(attempt), stop);
            }
        }
    }
}
