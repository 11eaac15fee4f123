-- sqlc.embed(table): the table's columns as one field holding a nested struct.

-- name: GetPetWithOwner :one
SELECT p.pet_id, p.name, sqlc.embed(owners)
FROM pets p JOIN owners ON owners.owner_id = p.owner_id
WHERE p.pet_id = @pet_id;

-- name: ListOwnersWithPets :many
-- An owner without pets has `pets: None`; the outer `name` and the pet's `name` do not clash.
SELECT o.owner_id, sqlc.embed(pets), o.name
FROM owners o LEFT JOIN pets ON pets.owner_id = o.owner_id
ORDER BY o.owner_id, pets.pet_id;

-- name: PetsWithNotes :many
SELECT p.pet_id, sqlc.embed(pet_notes)
FROM pets p LEFT JOIN pet_notes ON pet_notes.pet_name = p.name
ORDER BY p.pet_id;
