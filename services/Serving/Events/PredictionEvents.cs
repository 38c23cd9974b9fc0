using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;

namespace Platform.Serving.Events;

/// <summary>
/// Publishes <see cref="PredictionMade"/> to <c>predictions</c> durably, on the request path: a prediction is answered
/// only once its event has been accepted by the pub/sub port (embedded: committed to the event log; Dapr: accepted by
/// the broker), so a crash of serving loses no event of an answered prediction. A transient failure is retried; if the
/// event still cannot be published the request fails (503) rather than answering a prediction monitoring never sees.
/// </summary>
public sealed class PredictionEvents(IEventPublisher publisher, ILogger<PredictionEvents> logger)
{
    public const int Attempts = 3;
    private long _published;
    private long _failed;

    public long Published => Interlocked.Read(ref _published);
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Publishes the events side by side (the log group-commits them); throws <see cref="PredictionNotRecordedException"/> if any fails.</summary>
    public async Task PublishAsync(IReadOnlyList<PredictionMade> events, CancellationToken ct)
    {
        if (events.Count == 0) return;
        var results = await Task.WhenAll(events.Select(e => PublishOneAsync(e, ct)));
        var failed = results.Count(ok => !ok);
        if (failed > 0)
            throw new PredictionNotRecordedException($"{failed} of {events.Count} prediction event(s) could not be published; the prediction is not answered.");
    }

    private async Task<bool> PublishOneAsync(PredictionMade e, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not the request's token: once started, the publish completes, so an aborted caller cannot leave it half done.
                await publisher.PublishAsync(e, CancellationToken.None);
                Interlocked.Increment(ref _published);
                return true;
            }
            catch (Exception ex) when (attempt < Attempts && ex is not PublishRefusedException && !ct.IsCancellationRequested)
            {
                await Task.Delay(50 * attempt, CancellationToken.None);
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failed);
                logger.LogError("Could not publish prediction {Id}: {Error}", e.EventId, ex.Message);
                return false;
            }
        }
    }
}

/// <summary>The prediction's event could not be published, so the prediction is not answered.</summary>
public sealed class PredictionNotRecordedException(string message) : Exception(message);
