using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>The scheme provider that keeps its answers: the same answers as the framework's, and new ones after a change.</summary>
public sealed class CachedSchemeProviderTests
{
    private static CachedSchemeProvider Provider(params string[] schemes)
    {
        var provider = new CachedSchemeProvider(Options.Create(new AuthenticationOptions { DefaultScheme = schemes[0] }));
        foreach (var name in schemes) provider.AddScheme(new AuthenticationScheme(name, null, typeof(ApiKeyAuthenticationHandler)));
        return provider;
    }

    [Fact]
    public async Task GetDefaultAuthenticateSchemeAsync_AskedTwice_AnswersTheSameCompletedTask()
    {
        var provider = Provider("ApiKey", "Bearer");
        var first = provider.GetDefaultAuthenticateSchemeAsync();
        Assert.True(first.IsCompletedSuccessfully);
        Assert.Same(first, provider.GetDefaultAuthenticateSchemeAsync());
        Assert.Equal("ApiKey", (await first)?.Name);
        Assert.Same(provider.GetSchemeAsync("Bearer"), provider.GetSchemeAsync("Bearer"));
    }

    [Fact]
    public async Task GetSchemeAsync_SchemeRemovedAfterItWasAnswered_AnswersNull()
    {
        var provider = Provider("ApiKey", "Bearer");
        Assert.NotNull(await provider.GetSchemeAsync("Bearer"));
        provider.RemoveScheme("Bearer");
        Assert.Null(await provider.GetSchemeAsync("Bearer"));
        Assert.Equal(["ApiKey"], (await provider.GetAllSchemesAsync()).Select(s => s.Name));
    }

    [Fact]
    public async Task GetSchemeAsync_SchemeAddedAfterAnAnswer_FindsIt()
    {
        var provider = Provider("ApiKey");
        Assert.Null(await provider.GetSchemeAsync("Bearer"));
        Assert.True(provider.TryAddScheme(new AuthenticationScheme("Bearer", null, typeof(ApiKeyAuthenticationHandler))));
        Assert.Equal("Bearer", (await provider.GetSchemeAsync("Bearer"))?.Name);
    }
}
