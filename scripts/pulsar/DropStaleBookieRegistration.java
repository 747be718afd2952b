// Run by scripts/pulsar.sh before it starts Pulsar standalone again after an unclean end (a kill,
// a crash): deletes the registration that the dead bookie left in the RocksDB metadata store,
// /ledgers/available/BOOKIE_ID (and its read-only twin).
//
// Why: with a RocksDB metadata store nothing expires such an ephemeral node (ZooKeeper would, with
// the session). The store hides a stale one and deletes it lazily, without waiting; the restarted
// bookie registers meanwhile, and the late notification of that deletion sets off an endless
// revalidation of its registration lock (Pulsar 4.0.8: thousands of "Lock on resource
// /ledgers/available/... was invalidated" a second, a fast-growing log, and a BookKeeper client
// that now and then sees no bookie). Seen after 3 of 6 kills here. Deleting the node while
// no broker runs is what a session expiry would have done.
//
// Usage: java -cp "PULSAR_HOME/lib/*" DropStaleBookieRegistration.java METADATA_DIR BOOKIE_ID
// (Java's single-file source launcher: needs a JDK, not only a JRE.)

import java.util.Optional;
import java.util.concurrent.ExecutionException;
import org.apache.pulsar.metadata.api.MetadataStoreConfig;
import org.apache.pulsar.metadata.api.MetadataStoreException;
import org.apache.pulsar.metadata.api.extended.MetadataStoreExtended;

public class DropStaleBookieRegistration {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: DropStaleBookieRegistration METADATA_DIR BOOKIE_ID");
            System.exit(2);
        }
        MetadataStoreConfig config =
                MetadataStoreConfig.builder().metadataStoreName("pcoord-cleanup").build();
        try (MetadataStoreExtended store =
                MetadataStoreExtended.create("rocksdb://" + args[0], config)) {
            for (String path : new String[] {
                "/ledgers/available/" + args[1], "/ledgers/available/readonly/" + args[1]
            }) {
                try {
                    store.delete(path, Optional.empty()).get();
                    System.out.println("deleted the stale bookie registration " + path);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof MetadataStoreException.NotFoundException)) {
                        throw e;
                    }
                }
            }
        }
    }
}
