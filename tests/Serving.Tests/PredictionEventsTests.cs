using Microsoft.Extensions.Logging.Abstractions;
using Platform.BuildingBlocks.PubSub;
using Platform.Serving.Events;

namespace Platform.Serving.Tests;

public sealed class PredictionEventsTests
{
    private sealed class FlakyPublisher(int failures, Exception? error = null) : IEventPublisher
    {
        public List<OutgoingEvent> Accepted { get; } = [];
        public int Calls { get; private set; }

        public Task PublishAsync(OutgoingEvent e, CancellationToken ct = default)
        {
            lock (Accepted)
            {
                Calls++;
                if (Calls <= failures) throw error ?? new HttpRequestException("broker unavailable");
                Accepted.Add(e);
            }
            return Task.CompletedTask;
        }
    }

    private static PredictionMade Made(string id) => new(id, "m", 1, "AAA", DateTimeOffset.UnixEpoch, 5, 0.1, "1d", "return");

    [Fact]
    public async Task PublishAsync_TransientFailure_RetriesAndPublishesOnce()
    {
        var publisher = new FlakyPublisher(failures: 2);
        var events = new PredictionEvents(publisher, NullLogger<PredictionEvents>.Instance);

        await events.PublishAsync([Made("r1")], CancellationToken.None);

        Assert.Equal(["pred:r1"], publisher.Accepted.Select(e => e.Id));
        Assert.Equal((1L, 0L), (events.Published, events.Failed));
    }

    [Fact]
    public async Task PublishAsync_PublisherKeepsFailing_ThrowsSoThePredictionIsNotAnswered()
    {
        var publisher = new FlakyPublisher(failures: int.MaxValue);
        var events = new PredictionEvents(publisher, NullLogger<PredictionEvents>.Instance);

        await Assert.ThrowsAsync<PredictionNotRecordedException>(() => events.PublishAsync([Made("r1")], CancellationToken.None));

        Assert.Equal(PredictionEvents.Attempts, publisher.Calls);
        Assert.Equal((0L, 1L), (events.Published, events.Failed));
    }

    [Fact]
    public async Task PublishAsync_Refused_IsNotRetried()
    {
        var publisher = new FlakyPublisher(failures: int.MaxValue, new PublishRefusedException("payload too large"));
        var events = new PredictionEvents(publisher, NullLogger<PredictionEvents>.Instance);

        await Assert.ThrowsAsync<PredictionNotRecordedException>(() => events.PublishAsync([Made("r1")], CancellationToken.None));

        Assert.Equal(1, publisher.Calls);
    }
}
