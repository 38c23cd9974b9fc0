using Platform.OfflineStore;
using Platform.Quant;

namespace Platform.MarketData.Tests;

public sealed class BarValidationTests
{
    private static readonly DateTimeOffset Day = new(2024, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(10, 12, 9, 11, 100, 0, null)]
    [InlineData(10, 10, 10, 10, 0, 0, null)]
    [InlineData(0, 12, 9, 11, 100, 0, "open 0 is not a finite positive price up to 1000000000")]
    [InlineData(double.NaN, 12, 9, 11, 100, 0, "open NaN is not a finite positive price up to 1000000000")]
    [InlineData(10, double.PositiveInfinity, 9, 11, 100, 0, "high Infinity is not a finite positive price up to 1000000000")]
    [InlineData(10, 12, -1, 11, 100, 0, "low -1 is not a finite positive price up to 1000000000")]
    [InlineData(10, 12, 10.5, 11, 100, 0, "low 10.5 is above min(open, close) 10")]
    [InlineData(10, 10.9, 9, 11, 100, 0, "high 10.9 is below max(open, close) 11")]
    [InlineData(10, 12, 9, 11, -1, 0, "volume -1 is not a finite number >= 0")]
    [InlineData(10, 12, 9, 11, 100, 3, "time 2024-03-01T03:00:00Z is not aligned to the 1d interval")]
    [InlineData(10, 1e308, 9, 11, 100, 0, "high 1E+308 is not a finite positive price up to 1000000000")]
    [InlineData(10, 12, 9, 11, 1e300, 0, "volume 1E+300 is above 1000000000000000")]
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

    [Theory]
    [InlineData(1, 1, 1, "time 0001-01-01T00:00:00Z is outside 1900 to 2099")]
    [InlineData(1899, 12, 31, "time 1899-12-31T00:00:00Z is outside 1900 to 2099")]
    [InlineData(2100, 1, 1, "time 2100-01-01T00:00:00Z is outside 1900 to 2099")]
    [InlineData(9999, 1, 1, "time 9999-01-01T00:00:00Z is outside 1900 to 2099")]
    [InlineData(1900, 1, 1, null)]
    [InlineData(2099, 12, 31, null)]
    public void Check_TimeOutsideSaneYears_IsRefused(int year, int month, int day, string? expected)
    {
        var bar = new Bar(new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero), 1, 1, 1, 1, 0);

        Assert.Equal(expected, BarValidation.Check(bar, BarInterval.OneDay));
    }

    [Fact]
    public void CheckOrder_DailyBarsNamedWeekly_AreRefused()
    {
        BarInterval.TryParse("1w", out var weekly);

        Assert.Contains("less than one 1w interval after", BarValidation.CheckOrder(Day, new Bar(Day.AddDays(1), 1, 1, 1, 1, 0), weekly));
        Assert.Null(BarValidation.CheckOrder(Day, new Bar(Day.AddDays(7), 1, 1, 1, 1, 0), weekly));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("AAPL\n")]
    [InlineData("AA\0PL")]
    [InlineData("")]
    [InlineData(" AAPL")]
    [InlineData("-X")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456")]
    public void CheckBatch_SymbolOutsideTheRule_IsRefused(string symbol)
    {
        var bar = new SymbolBar(symbol, BarInterval.OneDay, new Bar(Day, 1, 1, 1, 1, 0));

        Assert.Contains("is not 1 to 32 letters", Assert.Single(BarValidation.CheckBatch([bar])));
    }

    [Theory]
    [InlineData("AAPL")]
    [InlineData("BRK.B")]
    [InlineData("EURUSD=X")]
    [InlineData("ES=F")]
    [InlineData("BTC-USD")]
    [InlineData("A_B^C")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")]
    public void CheckBatch_SymbolWithinTheRule_IsAccepted(string symbol)
    {
        Assert.Empty(BarValidation.CheckBatch([new SymbolBar(symbol, BarInterval.OneDay, new Bar(Day, 1, 1, 1, 1, 0))]));
    }

    [Fact]
    public void CheckBatch_TenThousandCharacterSymbol_IsRefusedWithAShortMessage()
    {
        var problem = Assert.Single(BarValidation.CheckBatch([new SymbolBar(new string('A', 10_000), BarInterval.OneDay, new Bar(Day, 1, 1, 1, 1, 0))]));

        Assert.True(problem.Length < 200, problem);
    }

    [Fact]
    public void Check_MinuteBarOffTheMinute_IsNotAligned()
    {
        Assert.NotNull(BarValidation.Check(new Bar(Day.AddSeconds(30), 1, 1, 1, 1, 0), BarInterval.OneMinute));
        Assert.Null(BarValidation.Check(new Bar(Day.AddMinutes(7), 1, 1, 1, 1, 0), BarInterval.OneMinute));
    }
}
