using System.Security.Claims;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>An API key's identity holds the key's claims however they are reached, though it copies them only when first asked.</summary>
public sealed class GatewayIdentityTests
{
    private static readonly ApiKeyPrincipal Key = new("0123456789abcdef", "reader", "standard", [Scopes.MarketRead, Scopes.FeaturesRead]);

    private static GatewayIdentity NewIdentity() => new(Key.Claims, GatewaySchemes.ApiKey, Key.Caller);

    [Fact]
    public void Claims_Read_AreTheKeysWithTheIdentityAsSubject()
    {
        var identity = NewIdentity();

        Assert.Equal(Key.Claims.Select(c => (c.Type, c.Value)), identity.Claims.Select(c => (c.Type, c.Value)));
        Assert.All(identity.Claims, c => Assert.Same(identity, c.Subject));
        Assert.Equal("reader", identity.Name);
        Assert.True(identity.IsAuthenticated);
        Assert.All(Key.Claims, c => Assert.Null(c.Subject));
    }

    [Fact]
    public void Principal_ScopeLookups_SeeTheKeysScopes()
    {
        var principal = new ClaimsPrincipal(NewIdentity());

        Assert.True(Scopes.Has(principal, Scopes.FeaturesRead));
        Assert.False(Scopes.Has(principal, Scopes.ModelsRead));
        Assert.Equal([Scopes.MarketRead, Scopes.FeaturesRead], Scopes.Of(principal));
        Assert.Equal("0123456789abcdef", GatewayClaims.IdOf(principal));
    }

    [Fact]
    public void CopyAndClone_BeforeAnyRead_CarryTheKeysClaims()
    {
        var copy = new ClaimsIdentity(NewIdentity());
        var clone = NewIdentity().Clone();

        Assert.Equal(Key.Claims.Count, copy.Claims.Count());
        Assert.Equal(GatewaySchemes.ApiKey, copy.AuthenticationType);
        Assert.Equal(Key.Claims.Count, clone.Claims.Count());
    }

    [Fact]
    public void AddClaim_BeforeAnyRead_ComesAfterTheKeysClaims()
    {
        var identity = NewIdentity();
        identity.AddClaim(new Claim("extra", "1"));

        Assert.Equal([.. Key.Claims.Select(c => c.Type), "extra"], identity.Claims.Select(c => c.Type));
    }
}
