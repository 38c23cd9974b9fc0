using Platform.Modeling.Datasets;

namespace Platform.Modeling.Tests;

public sealed class AsOfJoinTests
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly DateTimeOffset[] Stamps = Enumerable.Range(0, 10).Select(i => Synthetic.Start.AddDays(i)).ToArray();

    [Fact]
    public void BarRows_QueryAtABarsOpen_GetsThePreviousBarNotItsOwn()
    {
        // Daily bars are stamped 00:00; at 00:00 of day 5 only bars up to day 4 have closed.
        var rows = AsOfJoin.BarRows(Stamps, Day, [Stamps[5]]);
        Assert.Equal(4, rows[0]);
    }

    [Fact]
    public void BarRows_EveryQuery_NeverReturnsARowKnownAfterIt()
    {
        var queries = Enumerable.Range(0, 48).Select(h => Synthetic.Start.AddHours(h * 5 + 1)).ToArray();
        var rows = AsOfJoin.BarRows(Stamps, Day, queries);
        for (var q = 0; q < queries.Length; q++)
        {
            if (rows[q] < 0) continue;
            Assert.True(AsOfJoin.AvailableAt(Stamps[rows[q]], Day) <= queries[q], $"row {rows[q]} is known only after {queries[q]:o}");
            // And it is the newest such row: the next bar had not closed yet.
            if (rows[q] + 1 < Stamps.Length) Assert.True(AsOfJoin.AvailableAt(Stamps[rows[q] + 1], Day) > queries[q]);
        }
    }

    [Fact]
    public void BarRows_QueryAtTheClose_GetsThatBar()
    {
        Assert.Equal(5, AsOfJoin.BarRows(Stamps, Day, [Stamps[5] + Day])[0]);
        Assert.Equal(-1, AsOfJoin.BarRows(Stamps, Day, [Stamps[0]])[0]);
    }

    [Fact]
    public void BarRows_JoinOnTheStampInstead_WouldLeakOneBar()
    {
        // The same query joined on the open-time stamp returns the bar still in progress: the look-ahead these joins prevent.
        var leaky = AsOfJoin.Indices(Stamps, [Stamps[5]])[0];
        var honest = AsOfJoin.BarRows(Stamps, Day, [Stamps[5]])[0];
        Assert.Equal(honest + 1, leaky);
    }
}
