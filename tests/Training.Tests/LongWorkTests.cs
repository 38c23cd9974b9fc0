using Platform.ServiceDefaults;

namespace Platform.Training.Tests;

/// <summary><see cref="LongWork"/>, which the training and backtest activities run their fits, evaluations and simulations with.</summary>
public sealed class LongWorkTests
{
    [Fact]
    public async Task RunAsync_Work_RunsOnAThreadOutsideThePoolAndReturnsItsResult()
    {
        var (result, onPoolThread) = await LongWork.RunAsync(() => (42, Thread.CurrentThread.IsThreadPoolThread), CancellationToken.None);

        Assert.Equal(42, result);
        Assert.False(onPoolThread);
    }

    [Fact]
    public async Task RunAsync_TokenAlreadyCancelled_CancelsWithoutRunningTheWork()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var ran = false;

        var run = LongWork.RunAsync(() => ran = true, cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(run.IsCanceled);
        Assert.False(ran);
    }

    [Fact]
    public async Task RunAsync_WorkThrows_SurfacesItsException()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            LongWork.RunAsync<int>(() => throw new InvalidOperationException("no rows"), CancellationToken.None));

        Assert.Equal("no rows", error.Message);
    }
}
