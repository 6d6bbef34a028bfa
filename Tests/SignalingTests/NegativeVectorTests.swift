import Foundation
import Signaling
import Testing
import TestSupport

/// The negative vectors in docs/PROTOCOL.md §9.1: the real Opener must give each its intended outcome, and the
/// document must carry exactly the current block (on mismatch the block to paste is printed).
@Suite struct NegativeVectorTests {
    @Test func theOpenerGivesEachVectorItsIntendedOutcome() throws {
        for (vector, outcome) in NegativeVectors.outcomes(try NegativeVectors.cast()) {
            #expect(outcome == vector.expected, "\(vector.id): \(vector.what)")
        }
    }

    @Test func theVectorsDeriveFromTheWorkedExample() throws {
        let k = try NegativeVectors.cast()
        let boxed = NegativeVectors.box(NegativeVectors.bytes(NegativeVectors.payload(k)), nonce: NegativeVectors.nonce0,
                                        by: k.alice, to: k.bob.publicKey)
        #expect(boxed == NegativeVectors.e0(k))
        let block = try VectorTests.vectors()
        #expect(block.contains(NegativeVectors.e0(k).ciphertext.map { String(format: "%02x", $0) }.joined()))
    }

    @Test func protocolDocumentCarriesTheNegativeVectors() throws {
        let block = try NegativeVectors.text()
        let doc = try String(contentsOf: packageRoot.appendingPathComponent("docs/PROTOCOL.md"), encoding: .utf8)
        #expect(doc.contains("```\n\(block)\n```"), "docs/PROTOCOL.md must contain this block:\n```\n\(block)\n```")
    }
}
