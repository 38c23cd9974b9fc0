using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>
/// The events the log's write loop committed last, per followed topic, as the CloudEvents a subscriber receives, so an
/// in-process subscriber need not read them back from the file. It answers only for a range it knows whole: every row
/// committed since <c>_from</c> came from this write loop (its commits' sequence numbers follow one another; a gap means
/// another writer, such as a dead letter or another process, and the tail starts again after it), and the topic has not
/// dropped an event after the position asked for. Each topic keeps its newest <see cref="MaxEvents"/> events and at most
/// <see cref="MaxBytes"/> of payload; older ones are read from the file.
/// </summary>
internal sealed class CommittedTail
{
    public const int MaxEvents = 32_768;
    public const long MaxBytes = 16L << 20;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);
    private long _from = long.MaxValue;
    private long _last = -1;

    public void Follow(string topic)
    {
        lock (_lock) _topics.TryAdd(topic, new Topic());
    }

    /// <summary>Records one call's events, committed with sequence numbers from <paramref name="firstSeq"/> on.</summary>
    public void Add(long firstSeq, IReadOnlyList<OutgoingEvent> events, string source, DateTimeOffset time, string? traceParent)
    {
        lock (_lock)
        {
            if (_topics.Count == 0) return;
            if (firstSeq != _last + 1)
            {
                foreach (var topic in _topics.Values) topic.Clear();
                _from = firstSeq;
            }
            var seq = firstSeq;
            for (var i = 0; i < events.Count; i++)
            {
                var e = events[i];
                if (_topics.TryGetValue(e.Topic, out var topic))
                    topic.Add(seq, new CloudEvent(e.Id, source, e.Type, e.Topic, EventLog.PubSubName, time, EventLog.DataContentType, e.Data, traceParent));
                seq++;
            }
            _last = seq - 1;
        }
    }

    /// <summary>Up to <paramref name="max"/> events after <paramref name="position"/>; empty when the tail does not hold that range whole.</summary>
    public List<(long Seq, CloudEvent Event)> Read(string topicName, long position, int max)
    {
        var result = new List<(long, CloudEvent)>();
        lock (_lock)
        {
            if (_topics.TryGetValue(topicName, out var topic) && position + 1 >= _from && position >= topic.Dropped)
                topic.CopyAfter(position, max, result);
        }
        return result;
    }

    /// <summary>One topic's events in sequence order: a list whose consumed head is cut off now and then.</summary>
    private sealed class Topic
    {
        private readonly List<(long Seq, CloudEvent Event)> _events = [];
        private int _head;
        private long _bytes;

        /// <summary>The newest sequence number dropped to stay within the bounds (0: none).</summary>
        public long Dropped { get; private set; }

        public void Add(long seq, CloudEvent e)
        {
            _events.Add((seq, e));
            _bytes += e.Data.Length;
            while (_events.Count - _head > MaxEvents || _bytes > MaxBytes)
            {
                var (dropped, old) = _events[_head];
                _events[_head++] = default;
                _bytes -= old.Data.Length;
                Dropped = dropped;
            }
            if (_head > 4096 && _head > _events.Count / 2)
            {
                _events.RemoveRange(0, _head);
                _head = 0;
            }
        }

        public void Clear()
        {
            _events.Clear();
            _head = 0;
            _bytes = 0;
        }

        public void CopyAfter(long position, int max, List<(long, CloudEvent)> into)
        {
            // First event after the position: binary search over the live part.
            int lo = _head, hi = _events.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_events[mid].Seq <= position) lo = mid + 1; else hi = mid;
            }
            for (var i = lo; i < _events.Count && into.Count < max; i++) into.Add(_events[i]);
        }
    }
}
