namespace Platform.OfflineStore.Tests;

/// <summary>
/// The life of a store under a contract suite: each adapter's class says how to open one; the suite initialises it
/// (creating or migrating its schema) before each test and disposes it after.
/// </summary>
public abstract class StoreContract<TStore>(Func<TStore, Task> initialize) : IAsyncLifetime
    where TStore : class
{
    protected TStore Store { get; private set; } = null!;

    protected abstract Task<TStore> OpenAsync();

    public async Task InitializeAsync()
    {
        Store = await OpenAsync();
        await initialize(Store);
    }

    public async Task DisposeAsync()
    {
        if (Store is IAsyncDisposable d) await d.DisposeAsync();
    }
}
