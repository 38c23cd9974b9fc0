using System.Security.Cryptography;
using System.Text;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Tests;

/// <summary>The key digest, HMAC-SHA256(pepper, salt || UTF-8(secret)), computed with a keyed instance kept per thread.</summary>
public sealed class ApiKeyDigestTests
{
    private static byte[] Expected(byte[] pepper, byte[] salt, string secret) => HMACSHA256.HashData(pepper, salt.Concat(Encoding.UTF8.GetBytes(secret)).ToArray());

    [Fact]
    public void Digest_PeppersAlternatingOnOneThread_EachMatchesTheHmacUnderItsOwnPepper()
    {
        var first = RandomNumberGenerator.GetBytes(32);
        var second = RandomNumberGenerator.GetBytes(32);
        var salt = RandomNumberGenerator.GetBytes(16);
        const string secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x";
        var digest = new byte[32];
        foreach (var pepper in new[] { first, second, first, first, second })
        {
            ApiKeyToken.Digest(pepper, salt, secret, digest);
            Assert.Equal(Expected(pepper, salt, secret), digest);
        }
    }

    [Fact]
    public async Task Digest_TwoThreadsWithTheirOwnPeppers_EachMatchesTheHmacUnderItsOwnPepper()
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        const string secret = "another-secret";
        var results = Enumerable.Range(0, 2).Select(_ => RandomNumberGenerator.GetBytes(32)).Select(pepper => Task.Factory.StartNew(() =>
        {
            var digest = new byte[32];
            for (var i = 0; i < 2_000; i++)
            {
                ApiKeyToken.Digest(pepper, salt, secret, digest);
                if (!digest.AsSpan().SequenceEqual(Expected(pepper, salt, secret))) return false;
            }
            return true;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Assert.All(await Task.WhenAll(results), Assert.True);
    }
}
