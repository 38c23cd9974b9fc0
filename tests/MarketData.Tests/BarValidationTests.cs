using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.MarketData.Tests;

public sealed class BarValidationTests
{
    private static readonly DateTimeOffset Day = new(2024, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(10, 12, 9, 11, 100, 0, null)]
    [InlineData(10, 10, 10, 10, 0, 0, null)]
    [InlineData(0, 12, 9, 11, 100, 0, "open 0 is not a finite positive price")]
    [InlineData(double.NaN, 12, 9, 11, 100, 0, "open NaN is not a finite positive price")]
    [InlineData(10, double.PositiveInfinity, 9, 11, 100, 0, "high Infinity is not a finite positive price")]
    [InlineData(10, 12, -1, 11, 100, 0, "low -1 is not a finite positive price")]
    [InlineData(10, 12, 10.5, 11, 100, 0, "low 10.5 is above min(open, close) 10")]
    [InlineData(10, 10.9, 9, 11, 100, 0, "high 10.9 is below max(open, close) 11")]
    [InlineData(10, 12, 9, 11, -1, 0, "volume -1 is not a finite number >= 0")]
    [InlineData(10, 12, 9, 11, 100, 3, "time 2024-03-01T03:00:00Z is not aligned to the 1d interval")]
    public void Check_DailyBar_ReturnsReasonOrNull(double open, double high, double low, double close, double volume, int hours, string? expected)
    {
        var bar = new Bar(Day.AddHours(hours), open, high, low, close, volume);

        Assert.Equal(expected, BarValidation.Check(bar, BarInterval.OneDay));
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(1, null)]
    [InlineData(-1, "before the previous bar")]
    public void CheckOrder_RelativeToPrevious_RequiresStrictIncrease(int days, string? expected)
    {
        var reason = BarValidation.CheckOrder(Day, new Bar(Day.AddDays(days), 1, 1, 1, 1, 0));

        if (days == 0) Assert.Contains("duplicate time", reason);
        else if (expected is null) Assert.Null(reason);
        else Assert.Contains(expected, reason);
    }

    [Fact]
    public void Check_MinuteBarOffTheMinute_IsNotAligned()
    {
        Assert.NotNull(BarValidation.Check(new Bar(Day.AddSeconds(30), 1, 1, 1, 1, 0), BarInterval.OneMinute));
        Assert.Null(BarValidation.Check(new Bar(Day.AddMinutes(7), 1, 1, 1, 1, 0), BarInterval.OneMinute));
    }
}
