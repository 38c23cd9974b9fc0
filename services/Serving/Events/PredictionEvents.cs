using System.Threading.Channels;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.Serving.Events;

/// <summary>
/// Publishes <see cref="PredictionMade"/> to <c>predictions</c> off the request path: a request enqueues (waiting only
/// when <see cref="Capacity"/> events are already queued, which pushes back on callers instead of dropping events) and a
/// background loop publishes. Events still queued at shutdown are published before the service stops.
/// </summary>
public sealed class PredictionEvents(IEventPublisher publisher, ILogger<PredictionEvents> logger) : BackgroundService
{
    public const int Capacity = 10_000;
    private readonly Channel<PredictionMade> _queue = Channel.CreateBounded<PredictionMade>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private long _published;
    private long _failed;

    public long Published => Interlocked.Read(ref _published);
    public long Failed => Interlocked.Read(ref _failed);
    public int Queued => _queue.Reader.Count;

    public ValueTask EnqueueAsync(PredictionMade e, CancellationToken ct) =>
        _queue.Writer.TryWrite(e) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(e, ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(stoppingToken)) await PublishAsync(e);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        while (_queue.Reader.TryRead(out var rest)) await PublishAsync(rest);
    }

    private async Task PublishAsync(PredictionMade e)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await publisher.PublishAsync(e, CancellationToken.None);
                Interlocked.Increment(ref _published);
                return;
            }
            catch (Exception ex) when (attempt < 3 && ex is not PublishRefusedException)
            {
                await Task.Delay(50 * attempt);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failed);
                logger.LogError("Could not publish prediction {Id}: {Error}", e.EventId, ex.Message);
                return;
            }
        }
    }
}
