import { GraphQLError } from "graphql/index.js";
import { FlorUsageError } from "../errors.js";
import { VersionMissingError } from "../versions/version-source.js";
import { badInput } from "./types/page-info.js";

/** Runs `work`, turning the user's mistakes into GraphQL errors clients see; anything else stays masked. */
export async function withUserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FlorUsageError) throw badInput(error.message);
    if (error instanceof VersionMissingError) throw new GraphQLError(error.message, { extensions: { code: "VERSION_MISSING" } });
    throw error;
  }
}
